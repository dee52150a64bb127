"""Problem sets: HumanEval, MBPP and user suites load into checks of the right shape."""

from __future__ import annotations

import json

import pytest

from assay.code import load_problems
from assay.code.mbpp import render_prompt
from assay.code.problems import assert_style, first_called_name
from assay.code.suite import load_example, parse_suite
from assay.errors import DataError, UsageError


def test_humaneval_from_the_package():
    problems = load_problems("humaneval", None)
    assert len(problems) == 164
    p = problems["HumanEval/0"]
    assert p.entry_point == "has_close_elements" and p.program_prefix == p.prompt
    assert p.check.tests == ("check(has_close_elements)",) and p.check.remote == ("has_close_elements",)
    assert p.reference and p.program(p.reference).startswith(p.prompt)


def test_humaneval_from_the_data_folder_matches_the_package(data_dir):
    assert load_problems("humaneval", data_dir) == load_problems("humaneval", None)


def test_mbpp_test_split_and_prompt(data_dir):
    problems = load_problems("mbpp", data_dir)
    assert len(problems) == 500
    p = problems["Mbpp/11"]
    assert p.entry_point == "remove_Occ" and p.program_prefix == ""
    assert p.prompt.count("[BEGIN]") == 4 and p.prompt.endswith("[BEGIN]\n")
    assert "remove_Occ" in p.prompt and len(p.check.tests) == 3
    # the entry point shadows a builtin; a class the setup code uses comes from the program
    assert problems["Mbpp/126"].check.remote == ("sum",)
    assert set(problems["Mbpp/367"].check.remote) == {"Node", "is_tree_balanced"}


def test_mbpp_needs_the_data_folder():
    with pytest.raises(DataError):
        load_problems("mbpp", None)


def test_assert_style_keeps_builtins_and_modules_trusted():
    check = assert_style(
        "t", ["assert math.isclose(area(2), 12.56, rel_tol=0.01)", "assert round(area(1)) == 3"], "", "area"
    )
    assert check.remote == ("area",)
    assert "import math" in check.prelude
    assert first_called_name("assert f(g(1)) == 2") == "f"


def test_render_prompt_has_shots_then_the_task():
    shot = {"text": "Add.", "test_list": ["assert add(1, 2) == 3"], "code": "def add(a, b): return a + b"}
    prompt = render_prompt("Mul.", ["assert mul(2, 3) == 6"], [shot])
    assert prompt.index("Add.") < prompt.index("Mul.") and prompt.endswith("[BEGIN]\n")


def test_example_suite_ships_at_least_ten_problems_with_references():
    problems = load_example()
    assert len(problems) >= 10
    assert all(p.reference for p in problems)
    assert {p.check.tests == (f"check({p.entry_point})",) for p in problems} == {True, False}


def _row(**kw):
    row = {
        "task_id": "t/1",
        "prompt": "def f(x):\n",
        "entry_point": "f",
        "tests": "def check(candidate):\n    assert candidate(1) == 1\n",
    }
    row.update(kw)
    return json.dumps(row)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "malformed JSON"),
        ("[1]", "expected a JSON object"),
        (_row(extra=1), "unknown field"),
        (json.dumps({"task_id": "x"}), "known format.*lacks .prompt., .entry_point., .tests."),
        (_row(tests="assert f(1) == 1"), "must define check"),
        (_row(tests=[]), "non-empty list"),
        (_row(tests=["assert f(1) =="]), "not valid Python"),
        (_row(mode="other"), "mode must be"),
    ],
)
def test_suite_errors_name_file_and_line(line, message):
    with pytest.raises(DataError, match=message) as info:
        parse_suite(_row() + "\n" + line + "\n", "my.jsonl", "my")
    assert "my.jsonl:2" in str(info.value)


def test_suite_duplicates_and_unknown_sets(tmp_path):
    with pytest.raises(DataError, match="duplicate"):
        parse_suite(_row() + "\n" + _row() + "\n", "d.jsonl", "d")
    with pytest.raises(UsageError, match="did you mean"):
        load_problems("humanevl", None)
    with pytest.raises(DataError, match="does not exist"):
        load_problems(str(tmp_path / "none.jsonl"), None)
