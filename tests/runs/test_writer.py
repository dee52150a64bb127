"""The run writer: no half-written run folder is ever visible, and a later step never undoes an earlier one.

Integration: real processes killed with SIGKILL, a real MLflow server; the deterministic fake backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from assay.records import RunRecord
from assay.runs.folder import list_runs, open_run, read_samples
from tests.conftest import assay_cmd

pytestmark = pytest.mark.integration


def _args(data_dir: Path, out: Path, *extra: str) -> list[str]:
    return ["--data-dir", str(data_dir), "--output", str(out), "--leaderboard", str(out / "lb.csv"), "-q", *extra]


def _check_visible_runs(out: Path) -> int:
    """Every folder under `out` is either `<id>.partial` or a whole run: summary, metrics and samples agree."""
    whole = 0
    for folder in out.iterdir():
        if not folder.is_dir() or folder.name.endswith(".partial"):
            continue
        run = open_run(folder)  # validates summary.json
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics == run.record.metric_map()
        for result in run.record.task_results(groups=False):
            rows = run.samples(result.model, result.task)
            assert len(rows) == result.n_samples
        whole += 1
    return whole


def test_sigkill_at_any_moment_leaves_only_partial_or_whole_runs(tmp_path: Path, data_dir: Path) -> None:
    # 57 MMLU subjects: 57 samples files, then the summary, then the rename: many moments to be killed in
    def mmlu(out: Path) -> list[str]:
        return assay_cmd("run", "--model", "fake", "--tasks", "mmlu", "--limit", "2", *_args(data_dir, out))

    env = {**os.environ, "ASSAY_CHUNK_SIZE": "16"}
    started = time.monotonic()
    subprocess.run(mmlu(tmp_path / "r"), env=env, check=True, capture_output=True, timeout=300)
    full = time.monotonic() - started
    assert _check_visible_runs(tmp_path / "r") == 1
    outcomes = {"partial": 0, "whole": 0}
    for i in range(8):
        out = tmp_path / f"k{i}"
        proc = subprocess.Popen(mmlu(out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(full * (0.35 + 0.1 * i))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():
            names = [p.name for p in out.iterdir() if p.is_dir()]
            whole = _check_visible_runs(out)
            outcomes["whole" if whole else "partial"] += 1
            assert len(names) == 1, names
    assert outcomes["partial"] >= 1  # some kills landed mid-run; none left a half-written run folder


def test_tracking_server_down_keeps_the_run_then_log_succeeds(tmp_path: Path, data_dir: Path) -> None:
    from assay.tracking.server import free_port, start_server

    out = tmp_path / "runs"
    down = f"http://127.0.0.1:{free_port()}"
    cmd = assay_cmd("run", "--model", "fake", "--tasks", "arc_easy", "--limit", "6", *_args(data_dir, out))
    done = subprocess.run([*cmd, "--track", "--tracking-uri", down], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and warning[0].startswith("warning: MLflow tracking failed"), done.stderr
    assert "Traceback" not in done.stderr
    [run] = list_runs(out)
    assert run.record.results[0].metrics["acc"].n == 6
    assert len((out / "lb.csv").read_text().splitlines()) == 3  # header + acc + acc_norm
    retry = warning[0].split("retry with: ")[1]
    assert retry == f"assay tracking log {run.path} --tracking-uri {down}"

    server = start_server(tmp_path / "store")
    try:
        args = retry.split()[1:]
        args[args.index(down)] = server.url
        logged = subprocess.run(assay_cmd(*args), capture_output=True, text=True, timeout=300)
        assert logged.returncode == 0, logged.stderr
        assert "logged MLflow run" in logged.stdout
    finally:
        server.stop()


def test_resume_of_a_finished_or_unknown_run_is_one_line(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "runs"
    cmd = assay_cmd("run", "--model", "fake", "--tasks", "arc_easy", "--limit", "3", *_args(data_dir, out))
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    [run] = list_runs(out)
    again = subprocess.run(assay_cmd("run", "--resume", str(run.path)), capture_output=True, text=True)
    assert again.returncode == 2 and "already finished" in again.stderr
    unknown = subprocess.run(assay_cmd("run", "--resume", "20990101-000000-abcdef", "--output", str(out)),
                             capture_output=True, text=True)  # fmt: skip
    assert unknown.returncode == 2 and "no unfinished run" in unknown.stderr
    rows = read_samples(run.path / "samples" / "fake_arc_easy.jsonl")
    assert [r.sample_id.split("-")[0] for r in rows] == [f"arc_easy/test/{i}" for i in range(3)]
    assert RunRecord.from_json(run.record.to_json()) == run.record
