"""Custom code suites from a user's JSONL file, and assay's own example suite.

One problem per line:

    {"task_id": "demo/1", "prompt": "def add(a, b):\\n", "entry_point": "add",
     "tests": "def check(candidate):\\n    assert candidate(1, 2) == 3\\n",   # or a list of assert lines
     "reference": "    return a + b\\n",          # optional: a completion that passes (sets the time limit)
     "setup": "",                                # optional: trusted code run before assert-line tests
     "mode": "continue"}                         # "continue": prompt + completion; "full": completion alone

Tests given as a string must define `check(candidate)` (HumanEval's shape); a list holds assert lines that
call the entry point by name (MBPP's shape).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from assay.code.problems import Problem, assert_style, check_function_style
from assay.data.sources import json_lines
from assay.errors import DataError

EXAMPLE = "example"
_FIELDS = {"task_id", "prompt", "entry_point", "tests", "reference", "setup", "mode", "description"}


def _problem(row: dict[str, Any], where: str, suite: str) -> Problem:
    unknown = set(row) - _FIELDS
    if unknown:
        raise DataError(f"{where}: unknown field(s) {sorted(unknown)}", hint=f"allowed: {sorted(_FIELDS)}")
    for name in ("task_id", "prompt", "entry_point", "tests"):
        if name not in row:
            raise DataError(f"{where}: missing field {name!r}")
    task_id, prompt, entry, tests = str(row["task_id"]), row["prompt"], row["entry_point"], row["tests"]
    mode = row.get("mode", "continue")
    if mode not in ("continue", "full"):
        raise DataError(f"{where}: mode must be 'continue' or 'full', got {mode!r}")
    try:
        if isinstance(tests, str):
            if "def check(" not in tests:
                raise DataError(f"{where}: tests given as a string must define check(candidate)")
            check = check_function_style(task_id, prompt, tests, entry)
        elif isinstance(tests, list) and tests and all(isinstance(t, str) for t in tests):
            check = assert_style(task_id, tests, row.get("setup", ""), entry)
        else:
            raise DataError(f"{where}: tests must be a string or a non-empty list of strings")
    except SyntaxError as exc:
        raise DataError(f"{where}: the tests are not valid Python ({exc.msg}, line {exc.lineno})") from None
    return Problem(
        task_id=task_id,
        prompt=prompt,
        entry_point=entry,
        check=check,
        program_prefix=prompt if mode == "continue" else "",
        reference=row.get("reference"),
        suite=suite,
    )


def parse_suite(text: str, source: str, suite: str) -> list[Problem]:
    """Problems from JSONL text; errors name the source and line."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for where, row in json_lines(text, source):
        problem = _problem(row, where, suite)
        if problem.task_id in seen:
            raise DataError(f"{where}: duplicate task_id {problem.task_id!r}")
        seen.add(problem.task_id)
        problems.append(problem)
    if not problems:
        raise DataError(f"{source}: no problems in the file")
    return problems


def load_suite(path: Path) -> list[Problem]:
    """A user's suite file."""
    if not path.is_file():
        raise DataError(
            f"suite file {path} does not exist",
            hint="--problems takes humaneval, mbpp, example or a JSONL path",
        )
    return parse_suite(path.read_text(encoding="utf-8"), str(path), path.stem)


def load_example() -> list[Problem]:
    """assay's own example suite (shipped in the package)."""
    text = resources.files("assay").joinpath("suites", "example.jsonl").read_text(encoding="utf-8")
    return parse_suite(text, "example.jsonl", EXAMPLE)
