"""MBPP (Austin et al. 2021), the 500-problem test split, with the paper's 3-shot prompt.

The model writes the whole function; the check is the row's `test_list` asserts after its `test_setup_code`.
As in the paper (and lm-evaluation-harness), the few-shot examples are the `prompt` split's tasks 2, 3 and 4.
"""

from __future__ import annotations

from pathlib import Path

from assay.code.problems import Problem, assert_style, first_called_name
from assay.data.sources import read_file
from assay.errors import DataError

DATASET = "google-research-datasets/mbpp/full"
FEW_SHOT_IDS = (2, 3, 4)


def render_prompt(text: str, tests: list[str], shots: list[dict]) -> str:
    """The MBPP paper's prompt: task text, its tests, then the code between [BEGIN] and [DONE]."""

    def block(t: str, ts: list[str]) -> str:
        return (
            f"You are an expert Python programmer, and here is your task: {t} "
            "Your code should pass these tests:\n\n" + "\n".join(ts) + "\n"
        )

    parts = [block(s["text"], s["test_list"]) + f"[BEGIN]\n{s['code']}\n[DONE]\n" for s in shots]
    return "\n".join([*parts, block(text, tests) + "[BEGIN]\n"])


def load_mbpp(data_dir: Path | None) -> list[Problem]:
    """The 500 test problems, read from the data folder."""
    if data_dir is None:
        raise DataError(
            "MBPP needs the data folder", hint=f"pass --data-dir with {DATASET}/test.jsonl inside"
        )
    test_path, prompt_path = data_dir / DATASET / "test.jsonl", data_dir / DATASET / "prompt.jsonl"
    if not test_path.exists():
        raise DataError(f"{test_path} does not exist", hint="check --data-dir")
    shots: list[dict] = []
    if prompt_path.exists():
        by_id = {r["task_id"]: r for r in read_file(prompt_path)}
        shots = [by_id[i] for i in FEW_SHOT_IDS if i in by_id]
    problems = []
    for row in read_file(test_path):
        task_id = f"Mbpp/{row['task_id']}"
        tests = [t for t in row["test_list"] if t.strip()]
        try:
            entry = first_called_name(tests[0])
        except (IndexError, ValueError, SyntaxError):
            raise DataError(f"MBPP task {row['task_id']} has no usable test") from None
        problems.append(
            Problem(
                task_id=task_id,
                prompt=render_prompt(row["text"], tests, shots),
                entry_point=entry,
                check=assert_style(task_id, tests, row.get("test_setup_code") or "", entry),
                reference=row["code"],
                suite="mbpp",
            )
        )
    return problems
