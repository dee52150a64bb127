"""Ctrl-C on a real run: one message naming the run and the exact --resume command; the resumed run
recomputes only what the interrupt lost (at most the unit in flight, under 10% of the work done).

Integration: real SmolLM2-135M, real ARC-Easy rows, a real SIGINT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import assay_cmd
from tests.runs.test_resume import _journal_rows as _journaled

pytestmark = pytest.mark.integration

ROWS = 60
TOTAL = ROWS * 4  # the first 60 ARC-Easy rows have four choices each
UNIT = 8


def test_sigint_prints_resume_and_resume_recomputes_only_the_lost_unit(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "runs"
    env = {**os.environ, "ASSAY_CHUNK_SIZE": str(UNIT)}
    cmd = assay_cmd("run", "--model", "smollm2-135m", "--tasks", "arc_easy", "--limit", str(ROWS),
                    "--batch-size", "4", "--quiet", "--data-dir", str(data_dir), "--output", str(out),
                    "--leaderboard", str(tmp_path / "lb.csv"))  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    seen = 0
    while seen < TOTAL // 2 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run finished before it could be interrupted"
        partials = list(out.glob("*.partial")) if out.exists() else []
        seen = _journaled(partials[0]) if partials else 0
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) <= 2, stderr
    [partial] = list(out.glob("*.partial"))
    assert partial.name.removesuffix(".partial") in lines[0]
    assert lines[-1].endswith(f"assay run --resume {partial}")
    kept = _journaled(partial)
    assert seen <= kept < TOTAL  # nothing journaled before the signal was lost

    resumed = subprocess.run(assay_cmd(*lines[-1].split("continue with: assay ")[1].split(), "--quiet"),
                             env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    final = partial.with_name(partial.name.removesuffix(".partial"))
    stats = json.loads((final / "summary.json").read_text())["stats"]["smollm2-135m"]
    assert stats["requests_computed"] == TOTAL - kept  # only what was never journaled
    # the interrupt lost at most the unit in flight (UNIT requests): under 10% of the work journaled by then
    assert seen >= 10 * UNIT
