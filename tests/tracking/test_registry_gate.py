"""`assay registry promote --require-gate` with the real gate and the real smollm2-135m on 4 ARC-Easy rows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.config import ModelSpec, RunConfig
from assay.tracking import model_registry as registry

pytestmark = pytest.mark.integration


def test_promotion_runs_the_gate_against_the_champion(tmp_path: Path, store: str, data_dir: Path) -> None:
    from assay.cli.main import app
    from assay.runner import run_evaluation

    runs = tmp_path / "runs"
    config = RunConfig(
        models=(ModelSpec(model="smollm2-135m"),), tasks=("arc_easy",), limit=4, data_dir=str(data_dir),
        output=str(runs), leaderboard=str(tmp_path / "lb.csv"),
    )  # fmt: skip
    _, run_dir = run_evaluation(config, show_progress=False)
    champion = registry.register_model("SmolFollower", "smollm2-135m", run=run_dir, reference_only=True)
    assert champion.warnings == ()  # the registry fingerprints the folder exactly as the run did
    registry.promote("SmolFollower", champion.version, "champion")
    candidate = registry.register_model("SmolFollower", "smollm2-135m", reference_only=True)

    gate_args = (
        f"--limit 4 --tasks arc_easy --data-dir {data_dir} --output {runs} --leaderboard {tmp_path / 'g.csv'}"
    )
    env = {"MLFLOW_TRACKING_URI": store, "ASSAY_CACHE": os.environ["ASSAY_CACHE"]}
    args = [
        "registry",
        "promote",
        "SmolFollower",
        candidate.version,
        "--alias",
        "challenger",
        "--require-gate",
    ]
    result = CliRunner().invoke(app, [*args, "--gate-args", gate_args], env=env)
    assert result.exit_code == 0, result.output
    assert "now @challenger" in result.output
    assert "gate: " in result.output and "--baseline models:/SmolFollower@champion" in result.output
    evaluated = [p for p in runs.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(evaluated) == 2  # the gate evaluated the candidate beside the champion's run
    aliases = {v.version: v.aliases for v in registry.list_versions("SmolFollower")}
    assert aliases == {"1": ("champion",), "2": ("challenger",)}
