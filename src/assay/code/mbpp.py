"""MBPP (Austin et al. 2021), the 500-problem test split, with the paper's 3-shot prompt.

The model writes the whole function; the check is the row's `test_list` asserts after its `test_setup_code`.
As in the paper (and lm-evaluation-harness), the few-shot examples are the `prompt` split's tasks 2, 3 and 4.
"""

from __future__ import annotations

from pathlib import Path

from assay.code.formats import mbpp_problem
from assay.code.problems import Problem
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


def load_mbpp(data_dir: Path | None, *, challenge: bool = False) -> list[Problem]:
    """The 500 test problems, read from the data folder (with `challenge`, each check adds the row's
    challenge_test_list)."""
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
    return [
        mbpp_problem(row, f"{test_path}:{i}", challenge=challenge, prompt=_prompt(row, shots))
        for i, row in enumerate(read_file(test_path), start=1)
    ]


def _prompt(row: dict, shots: list[dict]) -> str:
    tests = row.get("test_list")
    shown = [t for t in tests if isinstance(t, str) and t.strip()] if isinstance(tests, list) else []
    return render_prompt(str(row.get("text", "")), shown, shots)
