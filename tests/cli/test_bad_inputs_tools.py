"""Bad inputs to the other commands (score, check-code, judge, human, compare, audit, registry, tracking,
leaderboard, report, gate): one `error:` line (+ `hint:`), exit 2, no traceback, the working folder untouched.
Cases that need finished runs get two real ones from the fake backend (written before the folder is frozen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_refused
from tests.cli.test_bad_inputs import FOREIGN_CSV, ROWS, TASK

OUTPUTS = '{"id": "q1", "reference": "4", "outputs": ["4", "5"]}\n'
NOT_UTF8 = b'{"id": "caf\xe9"}\n'

# (case id, files written first, arguments, fragments of the error line)
CASES: list[tuple[str, dict[str, str | bytes], tuple[str, ...], tuple[str, ...]]] = [
    ("score-missing-file", {}, ("score", "gone.jsonl"), ("gone.jsonl",)),
    ("score-not-utf8", {"o.jsonl": NOT_UTF8}, ("score", "o.jsonl"), ("o.jsonl", "UTF-8")),
    ("score-malformed-json", {"o.jsonl": OUTPUTS + "{nope\n"}, ("score", "o.jsonl"), ("o.jsonl:2",)),
    ("score-unknown-metric", {"o.jsonl": OUTPUTS}, ("score", "o.jsonl", "--metrics", "exact_mach"), ("exact_mach",)),
    ("score-foreign-leaderboard", {"o.jsonl": OUTPUTS, "lb.csv": FOREIGN_CSV}, ("score", "o.jsonl", "-l", "lb.csv"),
     ("not a leaderboard",)),
    ("score-leaderboard-is-a-folder", {"o.jsonl": OUTPUTS, "lb/keep": ""}, ("score", "o.jsonl", "-l", "lb"),
     ("is a folder",)),
    ("score-output-not-empty", {"o.jsonl": OUTPUTS, "res/keep": ""}, ("score", "o.jsonl", "--output", "res"),
     ("already exists",)),
    ("check-code-missing-samples", {}, ("check-code", "gone.jsonl"), ("gone.jsonl",)),
    ("check-code-not-utf8", {"s.jsonl": NOT_UTF8}, ("check-code", "s.jsonl"), ("s.jsonl", "UTF-8")),
    ("check-code-k-zero", {"s.jsonl": '{"task_id": "HumanEval/0", "completion": "x"}\n'},
     ("check-code", "s.jsonl", "--k", "0"), ("--k",)),
    ("check-code-k-word", {"s.jsonl": '{"task_id": "HumanEval/0", "completion": "x"}\n'},
     ("check-code", "s.jsonl", "--k", "ten"), ("--k",)),
    ("check-code-workers-zero", {"s.jsonl": ""}, ("check-code", "s.jsonl", "--workers", "0"), ("--workers",)),
    ("check-code-unknown-problems", {"s.jsonl": '{"task_id": "x/0", "completion": "x"}\n'},
     ("check-code", "s.jsonl", "--problems", "humaneva"), ("humaneva",)),
    ("check-code-negative-timeout", {"s.jsonl": '{"task_id": "HumanEval/0", "completion": "x"}\n'},
     ("check-code", "s.jsonl", "--timeout", "-1"), ("--timeout",)),
    ("check-code-negative-min-time", {"s.jsonl": '{"task_id": "HumanEval/0", "completion": "x"}\n'},
     ("check-code", "s.jsonl", "--min-time", "-1"), ("--min-time",)),
    ("judge-mtbench-zero-questions", {}, ("judge", "mtbench", "--model", "fake", "--judge", "fake", "--questions", "0"),
     ("--questions",)),
    ("judge-mtbench-unknown-mode", {}, ("judge", "mtbench", "--model", "fake", "--judge", "fake", "--mode", "duel"),
     ("duel",)),
    ("judge-mtbench-foreign-leaderboard", {"lb.csv": FOREIGN_CSV}, ("judge", "mtbench", "--model", "fake", "--judge",
     "fake", "--leaderboard", "lb.csv"), ("not a leaderboard",)),
    ("judge-mtbench-output-is-a-file", {"runs": "x"}, ("judge", "mtbench", "--model", "fake", "--judge", "fake",
     "--output", "runs"), ("--output runs is a file",)),
    ("judge-agreement-missing", {}, ("judge", "agreement", "j.jsonl", "--human", "h.jsonl"), ("j.jsonl",)),
    ("judge-items-missing-file", {}, ("judge", "items", "items.jsonl", "--judge", "fake", "-o", "out.jsonl"),
     ("items.jsonl",)),
    ("human-export-missing-db", {}, ("human", "export", "--db", "r.sqlite", "-o", "r.jsonl"), ("r.sqlite",)),
    ("human-agreement-missing-db", {}, ("human", "agreement", "--db", "r.sqlite"), ("r.sqlite",)),
    ("human-serve-missing-items", {}, ("human", "serve", "items.jsonl", "--db", "r.sqlite"), ("items.jsonl",)),
    ("human-serve-bad-port", {"items.jsonl": '{"id": "1", "prompt": "p", "response": "r"}\n'},
     ("human", "serve", "items.jsonl", "--db", "r.sqlite", "--port", "70000"), ("--port",)),
    ("tracking-serve-bad-port", {}, ("tracking", "serve", "--port", "70000"), ("--port",)),
    ("compare-unknown-runs", {}, ("compare", "run-a", "run-b"), ("run-a",)),
    ("compare-alpha-above-one", {}, ("compare", "A", "B", "--alpha", "2"), ("--alpha",)),
    ("compare-confidence-zero", {}, ("compare", "A", "B", "--confidence", "0"), ("--confidence",)),
    ("compare-resamples-zero", {}, ("compare", "A", "B", "--resamples", "0"), ("--resamples",)),
    ("audit-unknown-run", {}, ("audit", "20200101-000000-abcdef"), ("20200101-000000-abcdef",)),
    ("registry-promote-no-store", {}, ("registry", "promote", "Tiny", "7", "--alias", "champion"), ("mlflow.db",)),
    ("registry-show-no-store", {}, ("registry", "show", "Tiny"), ("mlflow.db",)),
    ("registry-register-missing-model", {}, ("registry", "register", "Tiny", "--model", "nowhere/ckpt"),
     ("nowhere",)),
    ("tracking-log-unknown-run", {}, ("tracking", "log", "20200101-000000-abcdef"), ("20200101-000000-abcdef",)),
    ("tracking-log-unknown-tracker", {}, ("tracking", "log", "A", "--tracker", "neptune"), ("neptune",)),
    ("leaderboard-show-missing", {}, ("leaderboard", "show", "-l", "lb.csv"), ("lb.csv",)),
    ("leaderboard-show-not-utf8", {"lb.csv": b"model,\xff\n"}, ("leaderboard", "show", "-l", "lb.csv"), ("UTF-8",)),
    ("leaderboard-show-folder", {"lb/keep": ""}, ("leaderboard", "show", "-l", "lb"), ("is a folder",)),
    ("leaderboard-show-foreign", {"lb.csv": FOREIGN_CSV}, ("leaderboard", "show", "-l", "lb.csv"), ("header",)),
    ("leaderboard-import-missing", {}, ("leaderboard", "import", "results.json", "-l", "lb.csv"), ("results.json",)),
    ("leaderboard-import-malformed", {"results.json": '{"results": '}, ("leaderboard", "import", "results.json",
     "-l", "lb.csv"), ("results.json",)),
    ("leaderboard-import-foreign-target", {"results.json": "{}", "lb.csv": FOREIGN_CSV},
     ("leaderboard", "import", "results.json", "-l", "lb.csv"), ("results.json",)),
    ("report-negative-max-samples", {}, ("report", "--max-samples", "-1"), ("--max-samples",)),
    ("report-foreign-leaderboard", {"lb.csv": FOREIGN_CSV}, ("report", "-l", "lb.csv", "--output", "site"),
     ("header",)),
    ("gate-alpha-above-one", {}, ("gate", "--candidate", "fake", "--baseline", "fake", "--alpha", "2"), ("--alpha",)),
    ("gate-negative-min-delta", {}, ("gate", "--candidate", "fake", "--baseline", "fake", "--min-delta", "-1"),
     ("--min-delta",)),
    ("gate-baseline-missing", {}, ("gate", "--candidate", "fake", "--baseline", "20200101-000000-abcdef",
     "--tasks", "tiny.yaml"), ("20200101-000000-abcdef",)),
    ("unknown-command", {}, ("runn",), ("No such command 'runn'",)),
    ("unknown-option", {}, ("run", "--modle", "fake"), ("No such option: --modle",)),
]  # fmt: skip


@pytest.mark.parametrize(("files", "args", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_command_refuses(
    cli: Cli, files: dict[str, str | bytes], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    cli.setup({"tiny.yaml": TASK, "tiny.jsonl": ROWS, **files})
    assert_refused(cli(*args), cli, *fragments)


def _two_runs(cli: Cli) -> tuple[Path, Path]:
    runs = []
    for seed in ("1", "2"):
        done = cli("run", "--model", "fake", "--model-args", f"seed={seed}", "--tasks", "tiny.yaml", "-q",
                   "--output", "runs", "--leaderboard", "lb.csv")  # fmt: skip
        assert done.code == 0, done.err
    runs = sorted(p for p in (cli.work / "runs").iterdir() if p.is_dir())
    assert len(runs) == 2
    return runs[0], runs[1]


@pytest.mark.parametrize("command", ["compare", "audit"])
def test_torn_summary_is_one_line(cli: Cli, command: str) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    first, second = _two_runs(cli)
    assert cli("compare", first.name, second.name).code == 0  # the control: intact runs compare
    summary = second / "summary.json"
    summary.write_text(summary.read_text()[:200])
    cli.freeze()
    args = ("compare", first.name, second.name) if command == "compare" else ("audit", second.name, "-q")
    assert_refused(cli(*args), cli, "summary.json")


@pytest.mark.parametrize(
    ("candidate", "extra", "fragment"),
    [("./nowhere", (), "nowhere"), ("fake", ("--limit", "0"), "--limit"), ("fake", ("--num-fewshot", "-1"), "few")],
    ids=["candidate-missing", "limit-zero", "num-fewshot-negative"],
)
def test_gate_refuses_a_bad_candidate(cli: Cli, candidate: str, extra: tuple[str, ...], fragment: str) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    baseline, _ = _two_runs(cli)
    cli.freeze()
    done = cli("gate", "--candidate", candidate, "--baseline", baseline.name, "--tasks", "tiny.yaml",
               "--output", "runs", "--leaderboard", "lb.csv", *extra)  # fmt: skip
    assert_refused(done, cli, fragment)


@pytest.mark.parametrize("broken", ["row", "leaderboard"])
def test_gate_checks_its_inputs_before_the_candidate_runs(cli: Cli, broken: str) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    baseline, _ = _two_runs(cli)
    if broken == "row":
        cli.write("tiny.jsonl", ROWS + '{"question": "3+3?", "choices": ["6", "7"]}\n')  # no target
    else:
        cli.write("lb.csv", FOREIGN_CSV)
    cli.freeze()
    done = cli("gate", "--candidate", "fake", "--baseline", baseline.name, "--tasks", "tiny.yaml",
               "--output", "runs", "--leaderboard", "lb.csv")  # fmt: skip
    assert_refused(done, cli, "tiny.jsonl:3:" if broken == "row" else "not a leaderboard")


@pytest.mark.parametrize("journal", [b"garbage", b"SQLite format 3\x00" + b"\x00" * 84], ids=["not-sqlite", "torn"])
def test_resume_with_a_damaged_journal_is_one_line(cli: Cli, journal: bytes) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    finished, _ = _two_runs(cli)
    partial = cli.work / "runs" / "20200101-000000-abcdef.partial"
    cli.write(str((partial / "config.json").relative_to(cli.work)), (finished / "config.json").read_text())
    cli.write(str((partial / "responses.sqlite").relative_to(cli.work)), journal)
    cli.freeze()
    assert_refused(cli("run", "--resume", str(partial), "-q"), cli, "responses.sqlite")
