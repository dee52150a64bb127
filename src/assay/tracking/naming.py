"""Naming conventions for tracking: experiments, runs, benchmark outputs and registered models.

    experiment        {Task}-{ModelFamily}      ARC-Easy-SmolLM2
    run               {model}-{variant}         smollm2-135m-instruct-q4
    benchmark output  {model}_{benchmark}       smollm2-135m_arc_easy
    registered model  PascalCase                InstructionFollower

Every name can be overridden by the caller; these functions only supply defaults. ModelFamily and variant come
from the model alias (assay.models.aliases) or from the model args `family=` and `variant=`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from assay.models.aliases import ALIASES

# How the well-known benchmarks are written in prose; anything else is title-cased word by word.
TASK_DISPLAY: dict[str, str] = {
    "arc_easy": "ARC-Easy",
    "arc_challenge": "ARC-Challenge",
    "hellaswag": "HellaSwag",
    "mmlu": "MMLU",
    "gsm8k": "GSM8K",
    "humaneval": "HumanEval",
    "mbpp": "MBPP",
    "winogrande": "WinoGrande",
    "piqa": "PIQA",
    "boolq": "BoolQ",
    "truthfulqa": "TruthfulQA",
    "truthfulqa_gen": "TruthfulQA",
    "mt_bench": "MT-Bench",
}
_WORD = re.compile(r"[A-Za-z0-9]+")


def task_display(task: str) -> str:
    """`arc_easy` -> `ARC-Easy`; an unknown task is title-cased (`my_task` -> `My-Task`)."""
    if task in TASK_DISPLAY:
        return TASK_DISPLAY[task]
    # subtasks of a known group (mmlu_anatomy) keep the group's spelling
    for key, shown in TASK_DISPLAY.items():
        if task.startswith(key + "_"):
            rest = task[len(key) + 1 :]
            return shown + "-" + "-".join(w.capitalize() for w in _WORD.findall(rest))
    return "-".join(w if w.isupper() else w.capitalize() for w in _WORD.findall(task)) or task


def model_family_variant(model: str, args: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """(ModelFamily, variant) of a model: explicit args win, then the alias, then a guess from the name."""
    args = args or {}
    alias = ALIASES.get(model)
    family = str(args.get("family") or (alias.family if alias else "") or _guess_family(model))
    variant = str(args.get("variant") or (alias.variant if alias else ""))
    return family, variant


def _guess_family(model: str) -> str:
    # "org/Some-Model-1B" -> "Some"; a path's last part is the best hint there is
    last = model.rstrip("/").split("/")[-1]
    words = _WORD.findall(last)
    return words[0] if words else "Model"


def experiment_name(tasks: Sequence[str], family: str) -> str:
    """`{Task}-{ModelFamily}`; several tasks are joined with `+` (ARC-Easy+HellaSwag-SmolLM2)."""
    shown = "+".join(task_display(t) for t in tasks) or "Eval"
    return f"{shown}-{family}"


def run_name(model: str, variant: str) -> str:
    """`{model}-{variant}`, without repeating a variant the model name already ends with."""
    if not variant or model.endswith(variant):
        return model
    return f"{model}-{variant}"


def benchmark_output_name(model: str, benchmark: str) -> str:
    """`{model}_{benchmark}`: the stem of a per-sample artifact (the run folder's samples/ files)."""
    from assay.runs.layout import safe_name

    return f"{safe_name(model)}_{safe_name(benchmark)}"


def pascal_case(text: str) -> str:
    """`instruction-follower` / `instruction follower` -> `InstructionFollower` (already-Pascal stays)."""
    words = _WORD.findall(text)
    return "".join(w[:1].upper() + w[1:] for w in words)


def is_pascal_case(name: str) -> bool:
    """True for names like `InstructionFollower` or `Smol2Chat`: letters and digits, capital first."""
    return bool(re.fullmatch(r"[A-Z][A-Za-z0-9]*", name))
