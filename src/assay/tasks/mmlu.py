"""MMLU: 57 `mmlu_<subject>` tasks in four category groups and the `mmlu` group, as lm-evaluation-harness
(default template, v1.0). Built in code rather than 57 YAML files: they differ only by subject."""

from __future__ import annotations

from assay.tasks.spec import DatasetSpec, MetricRef, TaskSpec

SUBJECTS: dict[str, str] = {
    "abstract_algebra": "stem",
    "anatomy": "stem",
    "astronomy": "stem",
    "business_ethics": "other",
    "clinical_knowledge": "other",
    "college_biology": "stem",
    "college_chemistry": "stem",
    "college_computer_science": "stem",
    "college_mathematics": "stem",
    "college_medicine": "other",
    "college_physics": "stem",
    "computer_security": "stem",
    "conceptual_physics": "stem",
    "econometrics": "social_sciences",
    "electrical_engineering": "stem",
    "elementary_mathematics": "stem",
    "formal_logic": "humanities",
    "global_facts": "other",
    "high_school_biology": "stem",
    "high_school_chemistry": "stem",
    "high_school_computer_science": "stem",
    "high_school_european_history": "humanities",
    "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences",
    "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem",
    "high_school_microeconomics": "social_sciences",
    "high_school_physics": "stem",
    "high_school_psychology": "social_sciences",
    "high_school_statistics": "stem",
    "high_school_us_history": "humanities",
    "high_school_world_history": "humanities",
    "human_aging": "other",
    "human_sexuality": "social_sciences",
    "international_law": "humanities",
    "jurisprudence": "humanities",
    "logical_fallacies": "humanities",
    "machine_learning": "stem",
    "management": "other",
    "marketing": "other",
    "medical_genetics": "other",
    "miscellaneous": "other",
    "moral_disputes": "humanities",
    "moral_scenarios": "humanities",
    "nutrition": "other",
    "philosophy": "humanities",
    "prehistory": "humanities",
    "professional_accounting": "other",
    "professional_law": "humanities",
    "professional_medicine": "other",
    "professional_psychology": "social_sciences",
    "public_relations": "social_sciences",
    "security_studies": "social_sciences",
    "sociology": "social_sciences",
    "us_foreign_policy": "social_sciences",
    "virology": "other",
    "world_religions": "humanities",
}

_TEXT = "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"


def mmlu_tasks() -> list[TaskSpec]:
    """One TaskSpec per subject; rows are cais/mmlu `all` filtered by subject."""
    specs = []
    for subject, category in SUBJECTS.items():
        specs.append(
            TaskSpec(
                name=f"mmlu_{subject}",
                version="1.0",
                groups=("mmlu", f"mmlu_{category}"),
                description=f"The following are multiple choice questions (with answers) about "
                f"{subject.replace('_', ' ')}.\n\n",
                dataset=DatasetSpec(
                    path="cais/mmlu",
                    name="all",
                    split="test",
                    fewshot_split="dev",
                    filter={"subject": subject},
                ),
                doc_to_text=_TEXT,
                doc_to_choice=("A", "B", "C", "D"),
                doc_to_target="answer",
                fewshot_sampler="first_n",
                metrics=(MetricRef(name="acc"),),
                source="builtin:mmlu",
            )
        )
    return specs
