"""Log a finished run folder to MLflow: params, metrics with stderr, tags, artifacts and dataset inputs.

One MLflow run per model of the assay run, in the experiment `{Task}-{ModelFamily}` (see naming.py),
named `{model}-{variant}`. Everything is sent in batches (`log_batch`): each single logging call is one
database commit. The folder is only read: logging happens at the end of `assay run --track` or later with
`assay tracking log RUN`.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import TrackingError
from assay.records import ModelInfo, RunRecord, TaskResult
from assay.runs.folder import CONFIG, METRICS, SUMMARY, RunFolder, open_run, read_config
from assay.runs.writer import Tracker
from assay.tracking import naming
from assay.tracking.plots import metrics_plot
from assay.tracking.sample_table import log_sample_table
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


def mlflow_tracker(folder: Path, tracking_uri: str | None, experiment: str | None) -> Tracker:
    """The RunWriter's tracker that logs a finished folder to MLflow (and the command that retries it)."""

    def track(final: Path) -> str:
        logged = log_runs(final, tracking_uri, experiment)
        return where_logged(logged)

    uri = f" --tracking-uri {tracking_uri}" if tracking_uri else ""
    return ("MLflow tracking", f"assay tracking log {folder}{uri}", track)


def where_logged(logged: Sequence[LoggedRun]) -> str:
    """One line: the tracking URI, and each model's experiment and MLflow run."""
    uri = logged[0].tracking_uri if logged else "?"
    runs = "; ".join(
        f"experiment {r.experiment!r}, run {r.run_id} ({r.model}{', logged before' if r.already_logged else ''})"
        for r in logged
    )
    return f"logged to MLflow at {uri}: {runs}"


def log_runs(
    run_dir: Path,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    *,
    run_name: str | None = None,
    force: bool = False,
) -> list[LoggedRun]:
    """Log each model of a run folder as one MLflow run. Already logged runs are skipped unless `force`."""
    folder = open_run(Path(run_dir))
    record, config = folder.record, read_config(folder.path)
    client, uri = get_client(tracking_uri)
    logged = []
    for model in record.models:
        results = record.task_results(model.name)
        family, variant = model_family_variant(config, model)
        exp_name = experiment or naming.experiment_name(top_level_tasks(results), family)
        name = run_name or naming.run_name(model.name, variant)
        exp_id = ensure_experiment(client, uri, exp_name)
        previous = _find_logged(client, exp_id, record.run_id, model.name)
        if previous and not force:
            logged.append(LoggedRun(previous, exp_id, exp_name, name, model.name, uri, already_logged=True))
            continue
        run_id = _log_one(client, exp_id, name, folder, config, model, (family, variant))
        logged.append(LoggedRun(run_id, exp_id, exp_name, name, model.name, uri))
    return logged


def model_family_variant(config: Mapping[str, Any], model: ModelInfo) -> tuple[str, str]:
    """(family, variant) of a model, from the ModelSpec the command was given (a run folder's config.json)."""
    spec = _spec_for(config, model.name)
    return naming.model_family_variant(spec.get("model", model.name), {**model.args, **spec.get("args", {})})


def _spec_for(config: Mapping[str, Any], name: str) -> JSON:
    """The ModelSpec (as given on the command line) behind a model display name, if the config has it."""
    for spec in config.get("models") or []:
        if isinstance(spec, Mapping) and (spec.get("name") or spec.get("model")) == name:
            return dict(spec)
    return {}


def top_level_tasks(results: Iterable[TaskResult]) -> list[str]:
    """Tasks that are not inside a group of the same results (a group stands for its subtasks)."""
    results = list(results)
    inside_groups = {sub for r in results for sub in r.subtasks}
    return [r.task for r in results if r.task not in inside_groups]


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
    folder: RunFolder,
    config: JSON,
    model: ModelInfo,
    family_variant: tuple[str, str],
) -> str:
    record = folder.record
    results = record.task_results(model.name)
    start_ms = _epoch_ms(record.created)
    run = client.create_run(exp_id, start_time=start_ms, run_name=name)
    run_id = run.info.run_id
    try:
        _log_batches(
            client,
            run_id,
            params(config, model, results),
            metrics(record, model.name),
            tags(record, model, *family_variant),
        )
        _log_datasets(client, run_id, results)
        _log_artifacts(client, run_id, folder, model, name)
        log_sample_table(client, run_id, folder, model.name)
    except Exception as exc:
        client.set_terminated(run_id, status="FAILED")
        raise TrackingError(f"logging {folder.path} to MLflow failed: {exc}") from exc
    end_ms = start_ms + int(1000 * record.wall_seconds) if start_ms else None
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


def params(config: Mapping[str, Any], model: ModelInfo, results: list[TaskResult]) -> dict[str, str]:
    """The run's parameters: the model, its args, the config keys that shape results, each task's data."""
    out = {"model": model.name, "model.backend": model.backend}
    for key, value in sorted(model.args.items()):
        out[f"model.args.{key}"] = _text(value)
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
            out[key] = _text(config[key])
    for r in results:
        out[f"task.{r.task}.dataset"] = _text(r.dataset)
        out[f"task.{r.task}.version"] = _text(r.task_version)
        out[f"task.{r.task}.n_samples"] = str(r.n_samples)
    return out


def mlflow_key(name: str) -> str:
    """A metric name as MLflow accepts it (letters, digits, _ - . space : /): lm-eval's filtered metrics
    (`exact_match,strict-match`) are logged as `exact_match_strict-match`."""
    return re.sub(r"[^\w\-. :/]", "_", name)


def metrics(record: RunRecord, model: str) -> dict[str, float]:
    """Every metric of the model with `_stderr` and `_n`, and its request stats (`stats/...`)."""
    out: dict[str, float] = {}
    for r in record.task_results(model):
        for name, mv in r.metrics.items():
            metric = mlflow_key(name)
            out[f"{r.task}/{metric}"] = float(mv.value)
            if mv.stderr is not None:
                out[f"{r.task}/{metric}_stderr"] = float(mv.stderr)
            out[f"{r.task}/{metric}_n"] = float(mv.n)
    per_model = record.stats.get(model)  # stats are kept per model: {model: {requests_computed: ...}}
    for key, value in (per_model if isinstance(per_model, Mapping) else {}).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[f"stats/{key}"] = float(value)
    if record.wall_seconds:
        out["stats/wall_seconds"] = float(record.wall_seconds)
    return out


def tags(record: RunRecord, model: ModelInfo, family: str, variant: str) -> dict[str, str]:
    """Run id, model identity, assay version and commit, dataset hashes and the environment, as tags."""
    from assay import __version__

    env = record.environment
    out = {
        "assay.run_id": record.run_id,
        "assay.model": model.name,
        "assay.model_family": family,
        "assay.model_variant": variant,
        "assay.model_fingerprint": model.fingerprint,
        "assay.version": str((env.get("packages") or {}).get("assay") or __version__),
        "assay.git_sha": record.git_sha,
        "mlflow.source.git.commit": record.git_sha,
    }
    for r in record.task_results(model.name):
        out[f"dataset.{r.task}.sha256"] = r.dataset_sha256
        out[f"output.{r.task}"] = naming.benchmark_output_name(model.name, r.task)
    for key, value in _flatten(env, "env"):
        out[key] = _text(value)
    return {k: v for k, v in out.items() if v != ""}


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


def _log_datasets(client: MlflowClient, run_id: str, results: list[TaskResult]) -> None:
    """Each task's rows as a dataset input: its source and the digest of the exact rows used."""
    from mlflow.data.huggingface_dataset_source import HuggingFaceDatasetSource
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.entities import DatasetInput, InputTag

    inputs = []
    for r in results:
        if not r.dataset or r.is_group:
            continue
        dataset, sha = r.dataset, r.dataset_sha256
        parts = dataset.rsplit("/", 2)
        if len(parts) == 3 and not dataset.endswith((".jsonl", ".json", ".csv")):
            source = HuggingFaceDatasetSource(parts[0], config_name=parts[1], split=parts[2])
        else:
            source = HuggingFaceDatasetSource("json", data_files=dataset)
        meta = MetaDataset(source, name=r.task, digest=sha[:32] or None)  # type: ignore[abstract]
        input_tags = [
            InputTag("mlflow.data.context", "eval"),
            InputTag("assay.sha256", sha),
            InputTag("assay.rows", str(r.n_samples)),
        ]
        inputs.append(DatasetInput(meta._to_mlflow_entity(), tags=input_tags))
    if inputs:
        client.log_inputs(run_id, datasets=inputs)


def artifact_files(folder: RunFolder, model: str) -> list[tuple[Path, str]]:
    """(file, name in the artifacts) of one model: summary, config, metrics and its samples files."""
    files = [(folder.file(name), name) for name in (SUMMARY, CONFIG, METRICS) if folder.file(name).exists()]
    for r in folder.record.task_results(model, groups=False):
        if folder.has_samples(model, r.task):
            path = folder.samples_file(model, r.task)
            files.append((path, f"samples/{path.name}"))
    return files


def _log_artifacts(client: MlflowClient, run_id: str, folder: RunFolder, model: ModelInfo, title: str) -> None:
    """Stage this model's files (summary, config, metrics, samples, plot) and upload them in one call."""
    with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as tmp:
        stage = Path(tmp)
        for path, name in artifact_files(folder, model.name):
            (stage / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, stage / name)
        metrics_plot(folder.record.task_results(model.name), title, stage / "plots" / "metrics.png")
        client.log_artifacts(run_id, str(stage))
