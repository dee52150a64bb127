"""The gate evaluating a model candidate (the fake backend): it uses the baseline run's limit unless told
otherwise and says which; output that is not a terminal (a CI log) gets progress lines while it evaluates;
Ctrl-C exits 130 (1 is a regression) naming the gate's own resume, which finishes the kept run and gates; a
baseline that is not a run says what a baseline may be."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.config import ModelSpec, RunConfig
from assay.runner import run_evaluation
from tests.conftest import assay_cmd
from tests.gate.conftest import Result
from tests.runs.test_resume import _journal_rows


def _baseline(tmp_path: Path, data_dir: Path, limit: int) -> str:
    config = RunConfig(models=(ModelSpec(model="fake"),), tasks=("arc_easy",), limit=limit, data_dir=str(data_dir),
                       output=str(tmp_path / "runs"), leaderboard=None)  # fmt: skip
    return run_evaluation(config, show_progress=False)[1].name


def _config(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def test_limit_defaults_to_the_baselines_and_is_said(
    tmp_path: Path, data_dir: Path, gate: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    base = _baseline(tmp_path, data_dir, limit=7)
    monkeypatch.setenv("ASSAY_PROGRESS_SECONDS", "0.2")
    res = gate("--candidate", "fake", "--model-args", "seed=1,latency_request_ms=10", "--baseline", base,
               "--tasks", "arc_easy", "--data-dir", str(data_dir), "--json", "g.json")  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "limit: 7 rows per task (the baseline run's; --limit N overrides)" in res.stderr
    [candidate] = [p for p in (tmp_path / "runs").iterdir() if p.name != base]
    assert _config(candidate)["limit"] == 7
    assert json.loads((tmp_path / "g.json").read_text())["comparisons"][0]["n"] == 7
    # 28 requests of 10 ms: the captured stderr is no terminal, so plain progress lines come every 0.2 s
    assert "progress: fake · arc_easy " in res.stderr and "/28 (" in res.stderr, res.stderr

    res = gate("--candidate", "fake", "--model-args", "seed=2", "--baseline", base, "--tasks", "arc_easy",
               "--data-dir", str(data_dir), "--limit", "5")  # fmt: skip
    assert "limit: 5 rows per task (--limit; the baseline ran 7 rows per task" in res.stderr


def test_lm_tasks_baseline_rows_by_fraction_or_id_are_the_candidates(
    tmp_path: Path, data_dir: Path, gate: Callable[..., Result]
) -> None:
    """A baseline of lm: tasks run with a fractional --limit or with --samples: the candidate runs the same rows."""
    pytest.importorskip("lm_eval")
    runs = tmp_path / "runs"
    cases = [({"samples": {"arc_easy": (0, 3, 5)}}, "rows: the baseline run's --samples (3 documents of 1 tasks", 3),
             ({"limit": 0.002}, "limit: a fraction 0.002 of each task's rows (the baseline", 5)]  # ceil(2376 * 0.002)
    for rows, said, n in cases:
        config = RunConfig(models=(ModelSpec(model="fake"),), tasks=("lm:arc_easy",), data_dir=str(data_dir),
                           output=str(runs), leaderboard=None, **rows)  # fmt: skip
        base = run_evaluation(config, show_progress=False)[1].name
        before = set(runs.iterdir())
        res = gate("--candidate", "fake", "--model-args", "seed=1", "--baseline", base, "--tasks", "lm:arc_easy",
                   "--data-dir", str(data_dir), "--json", "g.json")  # fmt: skip
        assert res.returncode in (0, 1), res.stderr
        assert said in res.stderr, res.stderr
        [candidate] = set(runs.iterdir()) - before
        key, value = next(iter(rows.items()))
        assert _config(candidate)[key] == ({"arc_easy": [0, 3, 5]} if key == "samples" else value)
        assert json.loads((tmp_path / "g.json").read_text())["comparisons"][0]["n"] == n


def test_baseline_that_is_not_a_run_says_what_a_baseline_is(
    tmp_path: Path, data_dir: Path, gate: Callable[..., Result]
) -> None:
    res = gate("--candidate", "fake", "--baseline", "gemma3-270m", "--tasks", "arc_easy")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [
        "error: baseline 'gemma3-270m' is not a run: a baseline is a finished run (its id, short id or folder) "
        "or a registered model, models:/NAME@alias or models:/NAME/VERSION",
        "hint: evaluate gemma3-270m first (assay run --model gemma3-270m --tasks ...) and pass its run id",
    ]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_exits_130_with_the_gates_own_resume(
    tmp_path: Path, data_dir: Path, gate: Callable[..., Result], signum: int
) -> None:
    base = _baseline(tmp_path, data_dir, limit=40)
    runs = tmp_path / "runs"
    cmd = assay_cmd("gate", "--candidate", "fake", "--model-args", "seed=3,latency_request_ms=20", "--baseline",
                    base, "--tasks", "arc_easy", "--data-dir", str(data_dir), "--output", str(runs),
                    "--min-delta", "0.5")  # fmt: skip
    env = {**os.environ, "ASSAY_CHUNK_SIZE": "8"}
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(_journal_rows(p) >= 16 for p in runs.glob("*.partial")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    [partial] = runs.glob("*.partial")
    error, hint = stderr.splitlines()[-2:]
    assert error == f"error: interrupted: the candidate's run keeps every finished result in {partial}"
    resume = f"assay gate --candidate {partial} --baseline {base} --tasks arc_easy --min-delta 0.5 --output {runs}"
    assert hint == f"hint: finish it and gate with: {resume}"

    res = gate(*resume.split()[2:])
    assert res.returncode == 0 and "PASS" in res.stdout, res.stderr
    assert f"finishing the candidate's unfinished run {partial}" in res.stderr
    assert not partial.exists() and _config(partial.with_name(partial.name.removesuffix(".partial")))["limit"] == 40
