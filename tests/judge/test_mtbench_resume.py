"""`assay judge mtbench` interrupted (SIGINT, then SIGTERM) and resumed, with the real smollm2-135m answering and
judging: each stop prints the resume command, and the finished run computes only what the journal lacked.

Integration: three real processes (the command line as a user runs it), 1 question, 16-token caps, no retries,
so the run is 4 generation requests (2 answers, 2 judgments). ASSAY_CHUNK_SIZE=8 makes each generation its own
unit of work, committed to the journal (runs/<id>.partial/responses.sqlite) as it finishes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

TOTAL = 4  # 1 question x 2 turns answered, then each turn judged once (--retries 0)


def _journal_rows(out: Path) -> int:
    journals = list(out.glob("*.partial/responses.sqlite"))
    if not journals:
        return 0
    db = sqlite3.connect(f"file:{journals[0]}?mode=ro", uri=True, timeout=30)
    try:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
    except sqlite3.OperationalError:  # the table is not created yet
        return 0
    finally:
        db.close()


def _stop_when(args: list[str], env: dict[str, str], out: Path, rows: int, sig: int) -> tuple[int, str]:
    """Start `assay ARGS`, send `sig` once the journal holds at least `rows` responses; (exit code, stderr)."""
    proc = subprocess.Popen([sys.executable, "-m", "assay.cli.main", *args], env=env, cwd=out.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 600
    while _journal_rows(out) < rows and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=300)
    return proc.returncode, err


def _resume_hint(err: str, out: Path) -> str:
    [partial] = out.glob("*.partial")
    assert f"hint: continue with: assay judge mtbench --resume {partial}" in err, err
    return str(partial)


def test_interrupted_twice_then_resumed_computes_only_what_was_not_journaled(tmp_path: Path, data_dir: Path) -> None:
    from assay.models.aliases import models_root

    out = tmp_path / "runs"
    env = {**os.environ, "ASSAY_MODELS_DIR": str(models_root()), "ASSAY_CACHE": str(tmp_path / "cache"),
           "ASSAY_CHUNK_SIZE": "8", "ASSAY_PROGRESS_SECONDS": "0.1", "COLUMNS": "300"}  # fmt: skip
    args = ["judge", "mtbench", "--model", "smollm2-135m", "--judge", "smollm2-135m", "--questions", "1",
            "--max-tokens", "16", "--judge-max-tokens", "16", "--retries", "0", "--data-dir", str(data_dir),
            "--output", str(out), "--leaderboard", str(tmp_path / "lb.csv"), "--no-cache"]  # fmt: skip

    code, err1 = _stop_when(args, env, out, 1, signal.SIGINT)  # during the second turn's answer
    assert code == 130 and "Traceback" not in err1, err1
    partial = _resume_hint(err1, out)
    first = _journal_rows(out)
    assert 1 <= first < TOTAL

    resume = ["judge", "mtbench", "--resume", partial, "--output", str(out)]
    code, err2 = _stop_when(resume, env, out, 3, signal.SIGTERM)  # during the second judgment
    assert code == 130 and _resume_hint(err2, out) == partial, err2
    second = _journal_rows(out)
    assert first < second < TOTAL and not (tmp_path / "lb.csv").exists()

    done = subprocess.run([sys.executable, "-m", "assay.cli.main", *resume], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not list(out.glob("*.partial"))
    [run] = [p for p in out.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    stats = summary["stats"]["smollm2-135m"]
    # nothing journaled was recomputed: the last process answered exactly what the journal lacked
    assert (stats["requests_total"], stats["requests_cached"], stats["requests_computed"]) == (
        TOTAL, second, TOTAL - second)  # fmt: skip
    assert summary["command"] == "judge-mtbench"
    assert summary["run_id"] == run.name == Path(partial).name.removesuffix(".partial")
    assert sqlite3.connect(run / "responses.sqlite").execute("SELECT COUNT(*) FROM responses").fetchone()[0] == TOTAL
    assert len((run / "judgments.jsonl").read_text().splitlines()) == 2
    # progress lines (stderr is not a terminal) for the answers and for the judgments
    assert "progress: answers smollm2-135m" in err1
    assert "progress: judging" in err2 + done.stderr
