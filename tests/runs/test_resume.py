"""A run killed with SIGKILL and resumed ends identical to an uninterrupted run, recomputing only what was lost.

Integration: real SmolLM2-135M, real ARC-Easy rows.
"""

from __future__ import annotations

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

ARGS = ["--model", "smollm2-135m", "--tasks", "arc_easy", "--limit", "48", "--batch-size", "4", "--quiet"]
TOTAL = 48 * 4  # four choices per ARC-Easy question here (the first 48 rows all have four)


def _journal_rows(run_dir: Path) -> int:
    db = run_dir / "responses.sqlite"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=1) as con:
            return int(con.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _env(tmp: Path, cache: str, chunk: int = 16) -> dict[str, str]:
    return {**os.environ, "ASSAY_CACHE": str(tmp / cache), "ASSAY_CHUNK_SIZE": str(chunk)}


def _samples(run_dir: Path, task: str) -> list[dict]:
    return [json.loads(x) for x in (run_dir / "samples" / f"smollm2-135m_{task}.jsonl").read_text().splitlines()]


def _stats(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text())["stats"]["smollm2-135m"]


def _metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def _finished(partial: Path) -> Path:
    """The resumed run's folder: the `.partial` one renamed into place, nothing left behind."""
    final = partial.with_name(partial.name.removesuffix(".partial"))
    assert final.is_dir() and not partial.exists()
    return final


def _run(cmd: list[str], env: dict[str, str], cwd: Path) -> None:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr


def _start_and_kill(cmd: list[str], env: dict[str, str], cwd: Path, out: Path, at_least: int) -> tuple[Path, int]:
    """Start `cmd`, SIGKILL it once its run has journaled `at_least` responses; the run folder and that count."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    run_dir = None
    while time.time() < deadline:
        dirs = list(out.glob("*")) if out.exists() else []
        if dirs and _journal_rows(dirs[0]) >= at_least:
            run_dir = dirs[0]
            break
        assert proc.poll() is None, "the run finished before it could be killed"
        time.sleep(0.1)
    assert run_dir is not None, "no progress within the deadline"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return run_dir, _journal_rows(run_dir)


def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "runs"
    common = [
        *ARGS,
        "--data-dir",
        str(data_dir),
        "--output",
        str(out),
        "--leaderboard",
        str(tmp_path / "lb.csv"),
    ]
    run_dir, done_before = _start_and_kill(assay_cmd("run", *common), _env(tmp_path, "cache-a"), tmp_path, out, 32)
    assert 32 <= done_before < TOTAL and done_before % 16 == 0  # whole chunks only
    assert not (run_dir / "summary.json").exists()

    assert run_dir.name.endswith(".partial")  # an unfinished run is never a run folder
    _run(assay_cmd("run", "--resume", str(run_dir), "--quiet"), _env(tmp_path, "cache-a"), tmp_path)
    run_dir = _finished(run_dir)
    stats = _stats(run_dir)
    assert stats["requests_computed"] == TOTAL - done_before
    assert stats["requests_cached"] == done_before

    ref_out = tmp_path / "ref"
    ref_args = [
        *ARGS,
        "--data-dir",
        str(data_dir),
        "--output",
        str(ref_out),
        "--leaderboard",
        str(tmp_path / "lb2.csv"),
    ]
    _run(assay_cmd("run", *ref_args), _env(tmp_path, "cache-b"), tmp_path)
    ref_dir = next(ref_out.glob("*"))
    assert _stats(ref_dir)["requests_computed"] == TOTAL
    assert _samples(run_dir, "arc_easy") == _samples(ref_dir, "arc_easy")  # identical loglikelihoods, predictions
    assert _metrics(run_dir) == _metrics(ref_dir)


GEN_ARGS = [
    "--model",
    "smollm2-135m",
    "--tasks",
    "assay_example",
    "--gen-kwargs",
    "max_tokens=24",
    "--batch-size",
    "1",
    "--quiet",
]
GEN_TOTAL = 12  # one greedy generation per problem of assay's example suite


def _run_args(tmp: Path, name: str) -> list[str]:
    return [*GEN_ARGS, "--output", str(tmp / name), "--leaderboard", str(tmp / f"{name}.csv")]


def test_generation_sigkill_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    env = _env(tmp_path, "cache-a", chunk=2)
    out = tmp_path / "runs"
    run_dir, done_before = _start_and_kill(assay_cmd("run", *_run_args(tmp_path, "runs")), env, tmp_path, out, 4)
    assert 4 <= done_before < GEN_TOTAL  # generation units hold one request here (chunk 2 // 8, at least 1)
    assert not (run_dir / "summary.json").exists()

    _run(assay_cmd("run", "--resume", str(run_dir), "--quiet"), env, tmp_path)
    run_dir = _finished(run_dir)
    stats = _stats(run_dir)
    assert stats["requests_computed"] == GEN_TOTAL - done_before
    assert stats["requests_cached"] == done_before

    _run(assay_cmd("run", *_run_args(tmp_path, "ref")), _env(tmp_path, "cache-b", chunk=2), tmp_path)
    ref_dir = next((tmp_path / "ref").glob("*"))
    got, want = _samples(run_dir, "assay_example"), _samples(ref_dir, "assay_example")
    assert len(got) == GEN_TOTAL and got == want  # same generations, extractions and verdicts
    assert _metrics(run_dir) == _metrics(ref_dir)
