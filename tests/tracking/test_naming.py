"""Naming conventions: pure functions, checked on the examples the docs promise."""

from __future__ import annotations

from assay.tracking import naming


def test_documented_examples() -> None:
    family, variant = naming.model_family_variant("smollm2-135m")
    assert naming.experiment_name(["arc_easy"], family) == "ARC-Easy-SmolLM2"
    assert naming.run_name("smollm2-135m", variant) == "smollm2-135m-instruct-q4"
    assert naming.benchmark_output_name("smollm2-135m", "arc_easy") == "smollm2-135m_arc_easy"
    assert naming.pascal_case("instruction follower") == "InstructionFollower"
    assert naming.pascal_case("instruction-follower") == "InstructionFollower"


def test_args_override_alias_and_unknown_models_get_a_guess() -> None:
    assert naming.model_family_variant("smollm2-135m", {"variant": "lora-r16"}) == ("SmolLM2", "lora-r16")
    assert naming.model_family_variant("hf", {"family": "Phi2"}) == ("Phi2", "")
    assert naming.model_family_variant("/ckpt/phi2-finetune") == ("phi2", "")
    assert naming.run_name("phi2", "") == "phi2"
    assert naming.run_name("model-q4", "q4") == "model-q4"


def test_task_display() -> None:
    assert naming.task_display("hellaswag") == "HellaSwag"
    assert naming.task_display("mmlu_high_school_physics") == "MMLU-High-School-Physics"
    assert naming.task_display("my_task") == "My-Task"
    assert naming.experiment_name(["gsm8k", "mbpp"], "Gemma3") == "GSM8K+MBPP-Gemma3"


def test_pascal_case_check() -> None:
    assert naming.is_pascal_case("InstructionFollower")
    assert not naming.is_pascal_case("instructionFollower")
    assert not naming.is_pascal_case("Instruction-Follower")
