"""An lm: task gets what a built-in task gets: resume after SIGKILL with nothing recomputed, leaderboard rows,
`assay compare` and `assay gate` (real CLI processes, the fake backend, real data; --executor ray is in
tests/execution/test_ray_cli.py, --track in tests/tracking)."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assay_cmd

pytestmark = pytest.mark.integration
TASKS = "lm:arc_easy,lm:gsm8k"
LIMIT = "10"


def _assay(tmp: Path, *args: str, cache: str = "cache") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_CACHE": str(tmp / cache), "ASSAY_CHUNK_SIZE": "4", "TQDM_DISABLE": "1"}
    return subprocess.run(assay_cmd(*args), env=env, cwd=tmp, capture_output=True, text=True, timeout=600)


def _run(tmp: Path, data_dir: Path, out: str, *extra: str, cache: str = "cache") -> subprocess.CompletedProcess[str]:
    return _assay(tmp, "run", "--model", "fake", "--tasks", TASKS, "--limit", LIMIT, "--data-dir", str(data_dir),
                  "--output", str(tmp / out), "--quiet", *extra, cache=cache)  # fmt: skip


def _done(tmp: Path, out: str) -> Path:
    return next(p for p in (tmp / out).iterdir() if not p.name.endswith(".partial"))


def test_a_killed_lm_run_resumes_to_the_same_samples_recomputing_nothing_kept(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    clean = _run(tmp_path, data_dir, "clean", "--no-leaderboard", cache="c1")
    assert clean.returncode == 0, clean.stderr[-2000:]
    # SIGKILL once the run has journaled 12 answers (units of 4 requests, 30 ms each, on a slow fake model)
    args = ["run", "--model", "fake", "--model-args", "latency_request_ms=30", "--tasks", TASKS, "--limit", LIMIT,
            "--data-dir", str(data_dir), "--output", str(tmp_path / "killed"), "--quiet",
            "--no-leaderboard"]  # fmt: skip
    env = {**os.environ, "ASSAY_CACHE": str(tmp_path / "c2"), "ASSAY_CHUNK_SIZE": "4", "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(assay_cmd(*args), env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    kept = _kill_after(proc, tmp_path / "killed", 12)
    (partial,) = (tmp_path / "killed").glob("*.partial")
    resumed = _assay(tmp_path, "run", "--resume", str(partial), "--quiet", "--no-leaderboard", cache="c2")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    run = _done(tmp_path, "killed")
    for task in ("lm_arc_easy", "lm_gsm8k"):
        name = f"fake_{task}.jsonl"
        assert (run / "samples" / name).read_text() == (_done(tmp_path, "clean") / "samples" / name).read_text()
    stats = json.loads((run / "summary.json").read_text())["stats"]["fake"]
    assert stats["requests_total"] == 50  # 40 choices and 10 generations
    assert stats["requests_computed"] == 50 - kept  # what the journal kept is not computed again


def _kill_after(proc: subprocess.Popen[bytes], out: Path, at_least: int) -> int:
    """SIGKILL `proc` once its run folder's journal holds `at_least` answers; the count it held then."""
    deadline = time.time() + 300
    while time.time() < deadline:
        for partial in out.glob("*.partial") if out.exists() else []:
            rows = _journal_rows(partial / "responses.sqlite")
            if rows >= at_least:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return _journal_rows(partial / "responses.sqlite")
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.05)
    raise AssertionError("no progress within the deadline")


def _journal_rows(path: Path) -> int:
    try:
        with sqlite3.connect(path, timeout=1) as con:
            return int(con.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_lm_runs_have_leaderboard_rows_and_compare_and_gate(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    board = tmp_path / "board.csv"
    for seed in ("1", "2"):
        done = _run(tmp_path, data_dir, f"runs{seed}", "--model-args", f"seed={seed}", "--leaderboard", str(board))
        assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(board.open()))
    pairs = {(r["benchmark"], r["metric"]) for r in rows}
    assert pairs >= {("lm:arc_easy", "acc"), ("lm:gsm8k", "exact_match,strict-match")}
    a, b = _done(tmp_path, "runs1"), _done(tmp_path, "runs2")
    compared = _assay(tmp_path, "compare", str(a), str(b), "--json")
    assert compared.returncode == 0, compared.stderr[-2000:]
    assert "lm:arc_easy" in compared.stdout and "acc_norm" in compared.stdout
    gate = _assay(tmp_path, "gate", "--candidate", str(b), "--baseline", str(a), "--tasks", "lm:arc_easy")
    assert gate.returncode in (0, 1), gate.stderr[-2000:]
    assert "lm:arc_easy" in gate.stdout + gate.stderr


def test_an_lm_run_is_tracked_with_lm_eval_metric_names_mlflow_accepts(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    pytest.importorskip("mlflow")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = _run(tmp_path, data_dir, "tracked", "--no-leaderboard", "--track", "--tracking-uri", uri)
    assert done.returncode == 0, done.stderr[-2000:]
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    (run,) = client.search_runs([e.experiment_id for e in client.search_experiments()])
    summary = json.loads((_done(tmp_path, "tracked") / "summary.json").read_text())
    value = next(r for r in summary["results"] if r["task"] == "lm:gsm8k")["metrics"]["exact_match,strict-match"]
    # MLflow refuses a comma in a metric name: lm-eval's `exact_match,strict-match` is logged with `_` for it
    assert run.data.metrics["lm:gsm8k/exact_match_strict-match"] == value["value"]
    assert run.data.metrics["lm:arc_easy/acc"] == next(
        r for r in summary["results"] if r["task"] == "lm:arc_easy")["metrics"]["acc"]["value"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--model", "fake", "--tasks", "arc_easy", "--apply-chat-template"],
         "error: --apply-chat-template applies to lm-eval's tasks (lm:NAME)"),
        (["--model", "fake", "--tasks", "lm:arc_easy", "--apply-chat-template"],
         "error: --apply-chat-template with lm: tasks needs the hf backend's tokenizer, not fake"),
        (["--model", "gemma3-270m", "--tasks", "lm:arc_easy", "--apply-chat-template"],
         "error: --apply-chat-template: model gemma3-270m has no chat template"),
        (["--model", "fake", "--tasks", "arc_easy", "--metadata", "n=1"],
         "error: --metadata applies to lm-eval's tasks (lm:NAME)"),
        (["--model", "fake", "--tasks", "lm:arc_easy", "--metadata", "{bad"],
         "error: --metadata: not a JSON object: Expecting property name enclosed in double quotes at character 1"),
        (["--model", "fake", "--tasks", "lm:arc_easy", "--metadata", "a=1,b"],
         "error: --metadata: 'b' is not of the form key=value"),
    ],
)
def test_a_chat_template_where_there_is_none_is_one_line(args: list[str], expected: str, data_dir: Path,
                                                          tmp_path: Path) -> None:  # fmt: skip
    pytest.importorskip("lm_eval")
    done = _assay(tmp_path, "run", *args, "--limit", "2", "--data-dir", str(data_dir), "--output",
                  str(tmp_path / "runs"), "--no-leaderboard")  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.splitlines()[0] == expected, done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing written
