"""log_run against a real embedded MLflow store: what lands there is read back and checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.tracking.mlflow_log import log_run, log_runs
from tests.tracking.runfolders import write_run


def test_log_run_records_params_metrics_tags_artifacts_and_datasets(tmp_path: Path, store: str) -> None:
    from mlflow import MlflowClient

    run_dir = write_run(tmp_path / "runs", tasks=("arc_easy", "arc_challenge"), n=10, accuracy=0.6)
    run_id = log_run(run_dir, None, None)  # default: ./mlflow.db in the working directory
    client = MlflowClient(store)
    run = client.get_run(run_id)
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.name == "ARC-Easy+ARC-Challenge-SmolLM2"
    assert run.info.run_name == "smollm2-135m-instruct-q4"
    assert run.info.status == "FINISHED"
    assert run.data.metrics["arc_easy/acc"] == pytest.approx(0.6)
    assert run.data.metrics["arc_easy/acc_stderr"] == pytest.approx((0.24 / 9) ** 0.5)
    assert run.data.metrics["stats/requests_computed"] == 40
    assert run.data.params["model"] == "smollm2-135m"
    assert run.data.params["seed"] == "1234"
    assert run.data.params["task.arc_easy.dataset"] == "allenai/ai2_arc/arc_easy/test"
    assert run.data.tags["assay.run_id"] == run_dir.name
    assert run.data.tags["mlflow.source.git.commit"].startswith("0123456789")
    assert run.data.tags["env.packages.torch"] == "2.13.0"
    assert len(run.data.tags["dataset.arc_easy.sha256"]) == 64
    assert run.data.tags["output.arc_easy"] == "smollm2-135m_arc_easy"
    names = {d.dataset.name: d for d in run.inputs.dataset_inputs}
    assert set(names) == {"arc_easy", "arc_challenge"}
    assert names["arc_easy"].dataset.digest == run.data.tags["dataset.arc_easy.sha256"][:32]
    files = {f.path for f in client.list_artifacts(run_id)} | {
        f.path for f in client.list_artifacts(run_id, "samples")
    }
    assert {"summary.json", "config.json", "metrics.json", "samples/smollm2-135m_arc_easy.jsonl"} <= files
    plot = Path(client.download_artifacts(run_id, "plots/metrics.png", str(tmp_path)))
    assert plot.read_bytes()[:4] == b"\x89PNG"
    # artifacts sit beside the database, not wherever the process happened to be
    assert run.info.artifact_uri.startswith((Path.cwd() / "mlartifacts").as_uri())


def test_logging_twice_reuses_the_run_unless_forced(tmp_path: Path, store: str) -> None:
    run_dir = write_run(tmp_path / "runs")
    first = log_runs(run_dir, store, "Custom-Exp")
    again = log_runs(run_dir, store, "Custom-Exp")
    forced = log_runs(run_dir, store, "Custom-Exp", force=True)
    assert again[0].already_logged and again[0].run_id == first[0].run_id
    assert forced[0].run_id != first[0].run_id
    assert first[0].experiment == "Custom-Exp"


def test_model_args_family_and_variant_override_the_alias(tmp_path: Path, store: str) -> None:
    from mlflow import MlflowClient

    run_dir = write_run(tmp_path / "runs")
    config_path = run_dir / "config.json"
    config_path.write_text(
        config_path.read_text().replace('"args": {}', '"args": {"family": "Phi2", "variant": "lora-r16"}')
    )
    (logged,) = log_runs(run_dir, store, None)
    assert logged.experiment == "ARC-Easy-Phi2"
    assert MlflowClient(store).get_run(logged.run_id).info.run_name == "smollm2-135m-lora-r16"
