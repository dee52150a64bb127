"""A registry baseline (models:/Name@champion) resolves to the run that evaluated that version.

Through a real MLflow store (embedded sqlite): the local run folder when present, else its copy among the
MLflow run's artifacts.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gate.conftest import Result
from tests.gate.test_gate_cli import PATTERN, lose
from tests.leaderboard.runfactory import write_run

pytestmark = pytest.mark.integration

BASE, CAND = "20261101-120000-aaaaaa", "20261102-120000-bbbbbb"


@pytest.fixture()
def registered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Register a tiny weightless checkpoint as SmolGate v1 with its evaluating run; make it champion."""
    pytest.importorskip("mlflow", reason="pip install 'assay[tracking]'")
    from assay.tracking.model_registry import promote, register_model

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.chdir(tmp_path)  # artifacts of an embedded store go beside it
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text(json.dumps({"model_type": "llama"}))
    write_run(tmp_path / "runs", BASE, "2026-11-01T12:00:00+00:00", {("smol", "arc_easy"): PATTERN})
    write_run(tmp_path / "runs", CAND, "2026-11-02T12:00:00+00:00", {("ckpt", "arc_easy"): lose(PATTERN, 20)})
    info = register_model("SmolGate", str(ckpt), run=BASE, runs_output=tmp_path / "runs", tracking_uri=uri)
    promote("SmolGate", info.version, "champion", tracking_uri=uri)
    assert info.tags["assay.run_id"] == BASE
    return uri


def test_registry_baseline_local_run(gate: Callable[..., Result], registered: str, tmp_path: Path) -> None:
    res = gate(
        "--candidate",
        CAND,
        "--baseline",
        "models:/SmolGate@champion",
        "--tracking-uri",
        registered,
        "--summary",
        "gate.md",
    )
    assert res.returncode == 1, res.stdout + res.stderr
    md = (tmp_path / "gate.md").read_text()
    assert "models:/SmolGate@champion (version 1, run 20261101-120000-aaaaaa)" in md
    assert "- **arc_easy / acc**: 0.7500 → 0.5500" in md


def test_registry_baseline_downloaded_from_mlflow(
    gate: Callable[..., Result], registered: str, tmp_path: Path
) -> None:
    shutil.rmtree(tmp_path / "runs" / BASE)  # e.g. a CI machine that never had the baseline's run folder
    res = gate(
        "--candidate",
        CAND,
        "--baseline",
        "models:/SmolGate@champion",
        "--tracking-uri",
        registered,
        "--json",
        "gate.json",
    )
    assert res.returncode == 1, res.stdout + res.stderr
    data = json.loads((tmp_path / "gate.json").read_text())
    assert "from MLflow" in data["baseline"]["origin"]
    assert {c["n"] for c in data["comparisons"]} == {100}


def test_registry_errors(gate: Callable[..., Result], registered: str) -> None:
    res = gate("--candidate", CAND, "--baseline", "models:/SmolGate@challenger", "--tracking-uri", registered)
    assert res.returncode == 2 and "no alias challenger" in res.stderr
