"""Log a finished run folder to MLflow: params, metrics with stderr, tags, artifacts and dataset inputs.

One MLflow run per model of the assay run, in the experiment `{Task}-{ModelFamily}` (see naming.py),
named `{model}-{variant}`. Everything is sent in batches (`log_batch`): each single logging call is one
database commit. The folder is only read: logging happens at the end of `assay run --track` or later with
`assay tracking log RUN`.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import TrackingError, UsageError
from assay.runs.layout import read_json, safe_name
from assay.tracking import naming
from assay.tracking.plots import metrics_plot
from assay.tracking.store import ensure_experiment, get_client, is_server

if TYPE_CHECKING:
    from mlflow import MlflowClient

JSON = dict[str, Any]
_BATCH = 100  # MLflow accepts at most 100 params or tags per log_batch call


@dataclass(frozen=True)
class LoggedRun:
    """Where one model's results went."""

    run_id: str
    experiment_id: str
    experiment: str
    run_name: str
    model: str
    tracking_uri: str
    already_logged: bool = False

    @property
    def url(self) -> str:
        """The run's page in the MLflow UI (for a server URI; the embedded store has none until served)."""
        base = self.tracking_uri.rstrip("/") if is_server(self.tracking_uri) else "http://127.0.0.1:5000"
        return f"{base}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


def log_run(run_dir: Path, tracking_uri: str | None = None, experiment: str | None = None) -> str:
    """Log a run folder; returns the MLflow run id (ids joined by `,` when the run has several models)."""
    return ",".join(r.run_id for r in log_runs(run_dir, tracking_uri, experiment))


def log_runs(
    run_dir: Path,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    *,
    run_name: str | None = None,
    force: bool = False,
) -> list[LoggedRun]:
    """Log each model of a run folder as one MLflow run. Already logged runs are skipped unless `force`."""
    summary, config = _read_run(Path(run_dir))
    client, uri = get_client(tracking_uri)
    logged = []
    for model in summary["models"]:
        spec = _spec_for(config, model["name"])
        results = [r for r in summary["results"] if r["model"] == model["name"]]
        family, variant = naming.model_family_variant(
            spec.get("model", model["name"]), {**model["args"], **spec.get("args", {})}
        )
        exp_name = experiment or naming.experiment_name(_top_level_tasks(results), family)
        name = run_name or naming.run_name(model["name"], variant)
        exp_id = ensure_experiment(client, uri, exp_name)
        previous = _find_logged(client, exp_id, summary["run_id"], model["name"])
        if previous and not force:
            logged.append(
                LoggedRun(previous, exp_id, exp_name, name, model["name"], uri, already_logged=True)
            )
            continue
        run_id = _log_one(
            client, exp_id, name, Path(run_dir), summary, config, model, results, family, variant
        )
        logged.append(LoggedRun(run_id, exp_id, exp_name, name, model["name"], uri))
    return logged


def _read_run(run_dir: Path) -> tuple[JSON, JSON]:
    if not (run_dir / "summary.json").exists():
        raise UsageError(
            f"{run_dir} has no summary.json: the run did not finish", hint="finish it with --resume"
        )
    summary = read_json(run_dir / "summary.json")
    config = (
        read_json(run_dir / "config.json")
        if (run_dir / "config.json").exists()
        else summary.get("config", {})
    )
    return summary, config


def _spec_for(config: Mapping[str, Any], name: str) -> JSON:
    """The ModelSpec (as given on the command line) behind a model display name, if the config has it."""
    for spec in config.get("models", []):
        if (spec.get("name") or spec.get("model")) == name:
            return dict(spec)
    return {}


def _top_level_tasks(results: Iterable[Mapping[str, Any]]) -> list[str]:
    results = list(results)
    inside_groups = {sub for r in results for sub in r.get("subtasks", ())}
    return [r["task"] for r in results if r["task"] not in inside_groups]


def _find_logged(client: MlflowClient, exp_id: str, assay_run: str, model: str) -> str | None:
    found = client.search_runs(
        [exp_id],
        filter_string=f"tags.`assay.run_id` = '{assay_run}' and tags.`assay.model` = '{model}'",
        max_results=1,
    )
    return found[0].info.run_id if found else None


def _log_one(
    client: MlflowClient,
    exp_id: str,
    name: str,
    run_dir: Path,
    summary: JSON,
    config: JSON,
    model: JSON,
    results: list[JSON],
    family: str,
    variant: str,
) -> str:
    start_ms = _epoch_ms(summary.get("created", ""))
    run = client.create_run(exp_id, start_time=start_ms, run_name=name)
    run_id = run.info.run_id
    try:
        _log_batches(
            client,
            run_id,
            _params(config, model, results),
            _metrics(summary, results),
            _tags(summary, model, results, family, variant),
        )
        _log_datasets(client, run_id, results)
        _log_artifacts(client, run_id, run_dir, summary, model, results, name)
    except Exception as exc:
        client.set_terminated(run_id, status="FAILED")
        raise TrackingError(f"logging {run_dir} to MLflow failed: {exc}") from exc
    end_ms = start_ms + int(1000 * float(summary.get("wall_seconds") or 0.0)) if start_ms else None
    client.set_terminated(run_id, status="FINISHED", end_time=end_ms)
    return str(run_id)


def _epoch_ms(created: str) -> int | None:
    try:
        return int(datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return None


def _text(value: Any, limit: int = 5000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _params(config: JSON, model: JSON, results: list[JSON]) -> dict[str, str]:
    params = {"model": model["name"], "model.backend": model.get("backend", "")}
    for key, value in sorted(model.get("args", {}).items()):
        params[f"model.args.{key}"] = _text(value)
    for key in (
        "tasks",
        "limit",
        "num_fewshot",
        "batch_size",
        "seed",
        "fewshot_seed",
        "gen_kwargs",
        "n_samples",
        "data_dir",
    ):
        if key in config:
            params[key] = _text(config[key])
    for r in results:
        params[f"task.{r['task']}.dataset"] = _text(r.get("dataset", ""))
        params[f"task.{r['task']}.version"] = _text(r.get("task_version", ""))
        params[f"task.{r['task']}.n_samples"] = str(r.get("n_samples", ""))
    return params


def _metrics(summary: JSON, results: list[JSON]) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in results:
        for metric, mv in r.get("metrics", {}).items():
            out[f"{r['task']}/{metric}"] = float(mv["value"])
            if mv.get("stderr") is not None:
                out[f"{r['task']}/{metric}_stderr"] = float(mv["stderr"])
            out[f"{r['task']}/{metric}_n"] = float(mv.get("n", 0))
    stats = summary.get("stats") or {}
    # the runner keeps stats per model ({model: {requests_computed: ...}}); older folders keep them flat
    model = results[0]["model"] if results else ""
    nested = stats.get(model)
    per_model: Mapping[str, Any] = nested if isinstance(nested, Mapping) else stats
    for key, value in per_model.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"stats/{key}"] = float(value)
    if summary.get("wall_seconds"):
        out["stats/wall_seconds"] = float(summary["wall_seconds"])
    return out


def _tags(summary: JSON, model: JSON, results: list[JSON], family: str, variant: str) -> dict[str, str]:
    from assay import __version__

    env = summary.get("environment") or {}
    tags = {
        "assay.run_id": summary["run_id"],
        "assay.model": model["name"],
        "assay.model_family": family,
        "assay.model_variant": variant,
        "assay.model_fingerprint": str(model.get("fingerprint", "")),
        "assay.version": str(env.get("assay") or env.get("assay_version") or __version__),
        "assay.git_sha": summary.get("git_sha", ""),
        "mlflow.source.git.commit": summary.get("git_sha", ""),
    }
    for r in results:
        tags[f"dataset.{r['task']}.sha256"] = r.get("dataset_sha256", "")
        tags[f"output.{r['task']}"] = naming.benchmark_output_name(model["name"], r["task"])
    for key, value in _flatten(env, "env"):
        tags[key] = _text(value)
    return {k: v for k, v in tags.items() if v != ""}


def _flatten(data: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, Mapping):
            yield from _flatten(value, f"{prefix}.{key}")
        else:
            yield f"{prefix}.{key}", value


def _log_batches(
    client: MlflowClient, run_id: str, params: dict[str, str], metrics: dict[str, float], tags: dict[str, str]
) -> None:
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    param_list = [Param(k, v) for k, v in params.items()]
    tag_list = [RunTag(k, v) for k, v in tags.items()]
    metric_list = [Metric(k, v, now, 0) for k, v in metrics.items()]
    for i in range(0, max(len(param_list), len(tag_list), len(metric_list)), _BATCH):
        client.log_batch(
            run_id,
            metrics=metric_list[i : i + _BATCH],
            params=param_list[i : i + _BATCH],
            tags=tag_list[i : i + _BATCH],
        )


def _log_datasets(client: MlflowClient, run_id: str, results: list[JSON]) -> None:
    """Each task's rows as a dataset input: its source and the digest of the exact rows used."""
    from mlflow.data.huggingface_dataset_source import HuggingFaceDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    inputs = []
    for r in results:
        if not r.get("dataset") or r.get("is_group"):
            continue
        dataset, sha = r["dataset"], r.get("dataset_sha256", "")
        parts = dataset.rsplit("/", 2)
        if len(parts) == 3 and not dataset.endswith((".jsonl", ".json", ".csv")):
            source = HuggingFaceDatasetSource(parts[0], config_name=parts[1], split=parts[2])
        else:
            source = HuggingFaceDatasetSource("json", data_files=dataset)
        meta = MetaDataset(source, name=r["task"], digest=sha[:32] or None)  # type: ignore[abstract]
        tags = [
            InputTag("mlflow.data.context", "eval"),
            InputTag("assay.sha256", sha),
            InputTag("assay.rows", str(r.get("n_samples", ""))),
        ]
        inputs.append(DatasetInput(meta._to_mlflow_entity(), tags=tags))
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


def _log_artifacts(
    client: MlflowClient,
    run_id: str,
    run_dir: Path,
    summary: JSON,
    model: JSON,
    results: list[JSON],
    title: str,
) -> None:
    """Stage this model's files (summary, config, metrics, samples, plot) and upload them in one call."""
    with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as tmp:
        stage = Path(tmp)
        for name in ("summary.json", "config.json", "metrics.json"):
            if (run_dir / name).exists():
                (stage / name).write_bytes((run_dir / name).read_bytes())
        prefix = safe_name(model["name"]) + "_"
        for sample_file in sorted((run_dir / "samples").glob(prefix + "*.jsonl")):
            (stage / "samples").mkdir(exist_ok=True)
            (stage / "samples" / sample_file.name).write_bytes(sample_file.read_bytes())
        metrics_plot(results, title, stage / "plots" / "metrics.png")
        client.log_artifacts(run_id, str(stage))
