"""Helper for the HF backend's resume tests: a run killed (SIGKILL) after its first committed chunk, then
resumed, must give exactly the samples of the same run left alone (real SmolLM2 model, real CLI processes)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from tests.conftest import assay_cmd

CHUNK = "16"  # requests per committed chunk (a generation chunk is an eighth of it: 2 requests)


def _samples(run_dir: Path) -> list[dict[str, object]]:
    (path,) = (run_dir / "samples").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _journal_rows(out: Path) -> int:
    for journal in out.glob("*.partial/responses.sqlite"):
        try:
            with sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1) as db:
                return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        except sqlite3.Error:
            return 0
    return 0


def killed_then_resumed(tmp_path: Path, data_dir: Path, *args: str) -> tuple[list[dict[str, object]], ...]:
    """(samples of the run left alone, samples of the killed-and-resumed run) for `assay run ARGS`."""
    env = {**os.environ, "ASSAY_CHUNK_SIZE": CHUNK}
    outs = {name: tmp_path / name for name in ("whole", "killed")}
    common = ("--model", "smollm2-135m", *args, "--data-dir", str(data_dir), "--no-cache", "-q")

    def cmd(out: Path, *extra: str) -> list[str]:
        return assay_cmd("run", *common, "--output", str(out), "--leaderboard", str(out / "lb.csv"), *extra)

    subprocess.run(cmd(outs["whole"]), env=env, check=True, capture_output=True, timeout=1200)
    proc = subprocess.Popen(cmd(outs["killed"]), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 1200
    while _journal_rows(outs["killed"]) == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (partial,) = outs["killed"].glob("*.partial")  # killed mid-run, with at least one chunk committed
    assert _journal_rows(outs["killed"]) > 0
    resume = assay_cmd("run", "--resume", str(partial), "-q")
    subprocess.run(resume, env=env, check=True, capture_output=True, timeout=1200)
    (whole,) = (p for p in outs["whole"].iterdir() if p.is_dir())
    (resumed,) = (p for p in outs["killed"].iterdir() if p.is_dir())
    return _samples(whole), _samples(resumed)
