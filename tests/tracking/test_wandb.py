"""W&B offline: a run folder is written with no account, and its transaction log holds what we logged."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tracking.runfolders import write_run

pytest.importorskip("wandb", reason="W&B logging needs the optional extra: pip install 'assay[wandb]'")


def test_offline_run_holds_metrics_tags_and_params(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.tracking.wandb_log import log_run_wandb, read_offline_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(tmp_path)
    run_dir = write_run(tmp_path / "runs", n=10, accuracy=0.7)
    folder = log_run_wandb(run_dir, wandb_dir=tmp_path / "wb")
    assert folder.name.startswith("offline-run-") and folder.is_relative_to(tmp_path / "wb")
    logged = read_offline_run(folder)
    assert logged["summary"]["arc_easy/acc"] == pytest.approx(0.7)
    assert logged["summary"]["arc_easy/acc_stderr"] == pytest.approx((0.21 / 9) ** 0.5)
    assert logged["summary"]["assay.run_id"] == run_dir.name
    assert logged["config"]["model"] == "smollm2-135m" and logged["config"]["seed"] == "1234"
    assert (folder / "files" / "metrics.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_tracker_wandb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from assay.cli.main import app

    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.chdir(tmp_path)
    run_dir = write_run(tmp_path / "runs")
    result = CliRunner().invoke(
        app, ["tracking", "log", str(run_dir), "--tracker", "wandb"], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 0, result.output
    assert "W&B (offline)" in result.output
    (folder,) = (tmp_path / "wandb").glob("offline-run-*")
    assert folder.name in result.output
    bad = CliRunner().invoke(app, ["tracking", "log", str(run_dir), "--tracker", "neptune"])
    assert bad.exception is not None and "unknown tracker" in str(bad.exception)
