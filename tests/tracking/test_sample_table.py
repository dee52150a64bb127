"""`assay run --track` logs the per-sample results as an MLflow table, read back through a real MLflow server.

The fake backend evaluates ARC-Easy and gsm8k rows (fast); the run is logged over HTTP to a server started by
assay's own `start_server`, and the table is read back with MlflowClient.load_table from that server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.tracking.sample_table import TABLE_FILE, TEXT_LIMIT

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from assay.tracking.server import start_server

    handle = start_server(tmp_path_factory.mktemp("mlflow-server"))
    try:
        yield handle.url
    finally:
        handle.stop()


def test_track_logs_the_samples_table_once(
    server: str, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)  # load_table downloads through the current tracking URI

    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    cmd = [sys.executable, "-m", "assay.cli.main", "run", "--model", "fake", "--tasks", "arc_easy,gsm8k",
           "--limit", "6", "--data-dir", str(data_dir), "--output", "runs", "--no-leaderboard", "-q",
           "--track", "--tracking-uri", server, "--experiment", "view-table"]  # fmt: skip
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    client = MlflowClient(server)
    experiment = client.get_experiment_by_name("view-table")
    assert experiment is not None and experiment.name == "view-table"
    [run] = client.search_runs([experiment.experiment_id])
    table = client.load_table(experiment.experiment_id, TABLE_FILE, run_ids=[run.info.run_id])
    rows = [json.loads(line) for f in sorted((tmp_path / "runs").glob("*/samples/*.jsonl"))
            for line in f.read_text().splitlines()]  # fmt: skip
    assert len(table) == len(rows) == 12
    by_id = {r["sample_id"]: r for r in rows}
    assert set(table["sample_id"]) == set(by_id)
    for _, got in table.iterrows():
        want = by_id[got["sample_id"]]
        assert got["task"] == want["task"]
        for metric, value in want["scores"].items():
            assert got[metric] == value, (metric, got["sample_id"])
        if want["outputs"]:  # gsm8k: the generated text is in the table (cut to TEXT_LIMIT characters)
            assert got["output"] == want["outputs"][0][:TEXT_LIMIT]
    # not copied twice: the full prompts stay in the samples artifacts only; the table has the question alone
    gsm = table[table["task"] == "gsm8k"].iloc[0]
    assert len(gsm["question"]) < len(by_id[gsm["sample_id"]]["prompt"])
    logged = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert TABLE_FILE in logged and "samples" in logged
