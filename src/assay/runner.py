"""The one place that composes the stages: tasks -> samples -> requests -> model -> scores -> run folder.

record, run_dir = run_evaluation(RunConfig(models=(ModelSpec(model="smollm2-135m"),), tasks=("arc_easy",)))
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay import pipeline
from assay.config import ModelSpec, RunConfig
from assay.data.sources import data_dir_from
from assay.errors import AssayError, UsageError
from assay.leaderboard.store import append_rows, rows_from_summary
from assay.metrics.aggregate import aggregate_scores, pooled_group
from assay.models.aliases import cache_root
from assay.models.cache import CachedModel, ResponseStore
from assay.models.registry import load_model, resolve_spec
from assay.progress import RunProgress
from assay.records import ModelInfo, RunRecord, SampleResult, TaskResult
from assay.runs import environment
from assay.runs.layout import new_run_id, samples_path, write_json_atomic, write_jsonl_atomic
from assay.tasks.build import build_samples, import_hook, load_task_data
from assay.tasks.registry import Selection, select
from assay.tasks.scoring import ScoringContext
from assay.tasks.spec import TaskSpec


def run_evaluation(
    config: RunConfig, *, resume_dir: Path | None = None, show_progress: bool = True
) -> tuple[RunRecord, Path]:
    """Evaluate every model on every task; write the run folder and leaderboard rows; return the record."""
    started = time.time()
    selection = select(config.tasks, config.task_files)
    data_dir = data_dir_from(config.data_dir)
    for spec in config.models:  # unknown models and inline secrets fail before anything is written
        resolve_spec(spec)
        _refuse_secrets(spec)
    run_dir = resume_dir or config.output_dir / new_run_id()
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json_atomic(run_dir / "config.json", config.model_dump(mode="json"))
    try:
        return _run(config, selection, data_dir, run_dir, started, show_progress)
    except AssayError:
        if resume_dir is None and not _has_responses(run_dir):
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing worth resuming: leave nothing half-written
        raise


_SECRET_WORDS = ("api_key", "apikey", "token", "secret", "password")


def _refuse_secrets(spec: ModelSpec) -> None:
    """Keys must come from the environment: config.json and summary.json would otherwise store them."""
    for key in spec.args:
        if any(word in key.lower() for word in _SECRET_WORDS) and not key.lower().endswith("_env"):
            raise UsageError(
                f"model argument {key!r} would be written into the run record",
                hint="put the key in an environment variable and pass api_key_env=NAME (default OPENAI_API_KEY)",
            )


def _has_responses(run_dir: Path) -> bool:
    journal = run_dir / "responses.sqlite"
    if not journal.exists():
        return False
    store = ResponseStore(journal)
    try:
        return store.count() > 0
    finally:
        store.close()


def _run(
    config: RunConfig,
    selection: Selection,
    data_dir: Path | None,
    run_dir: Path,
    started: float,
    show_progress: bool,
) -> tuple[RunRecord, Path]:
    infos: list[ModelInfo] = []
    results: list[TaskResult] = []
    stats: dict[str, Any] = {}
    with ExitStack() as stack, RunProgress(enabled=show_progress) as progress:
        journal = ResponseStore(run_dir / "responses.sqlite")
        stack.callback(journal.close)
        readers = [journal] + (
            [] if not config.use_cache else [ResponseStore(cache_root() / "responses.sqlite")]
        )
        for spec in config.models:
            model, info = _open_model(spec, config, readers)
            stack.callback(model.close)
            infos.append(info)
            model_results = [
                _evaluate_task(task, model, info, config, data_dir, run_dir, progress)
                for task in selection.tasks
            ]
            results.extend(model_results)
            results.extend(_group_results(info.name, selection, model_results))
            stats[info.name] = {**model.stats, **getattr(model.inner, "stats", {})}
    record = RunRecord(
        run_id=run_dir.name,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        config=config.model_dump(mode="json"),
        models=tuple(infos),
        results=tuple(results),
        environment=environment.capture(),
        git_sha=environment.git_sha(),
        wall_seconds=round(time.time() - started, 2),
        stats=stats,
    )
    _write_outputs(record, run_dir, config)
    return record, run_dir


def _open_model(
    spec: ModelSpec, config: RunConfig, readers: list[ResponseStore]
) -> tuple[CachedModel, ModelInfo]:
    backend, args, name = resolve_spec(spec)
    if backend == "hf":
        args.setdefault("batch_size", config.batch_size)
        if config.device:
            args.setdefault("device", config.device)
    inner = load_model(ModelSpec(name=name, model=backend, args=args))
    # the journal is always written; the user cache only when caching is on
    # requests per committed chunk: what a kill can lose at most (ASSAY_CHUNK_SIZE tunes it)
    model = CachedModel(
        inner, readers=readers, writers=readers, chunk_size=int(os.environ.get("ASSAY_CHUNK_SIZE", "128"))
    )
    info = ModelInfo(
        name=name,
        backend=backend,
        args=args,
        fingerprint=inner.fingerprint,
        version=str(getattr(inner, "version", "")),
    )
    return model, info


def _evaluate_task(
    spec: TaskSpec,
    model: CachedModel,
    info: ModelInfo,
    config: RunConfig,
    data_dir: Path | None,
    run_dir: Path,
    progress: RunProgress,
) -> TaskResult:
    data = load_task_data(spec, data_dir, config.limit)
    samples = build_samples(spec, data, config.num_fewshot, config.fewshot_seed)
    label = f"{info.name} · {spec.name}"
    if spec.output_type == "multiple_choice":
        requests = pipeline.loglikelihood_requests(samples)
        with progress.task(label, len(requests)) as advance:
            responses = model.loglikelihood(requests, advance)
        sample_results = pipeline.score_choices(spec, info.name, samples, responses)
    else:
        gen_requests = pipeline.generation_requests(
            spec, samples, config.seed, config.gen_kwargs, config.n_samples
        )
        with progress.task(label, len(gen_requests)) as advance:
            outputs = model.generate(gen_requests, advance)
        hook_scores = None
        if spec.scorer:
            ctx = ScoringContext(
                data_dir=str(data_dir) if data_dir else None,
                seed=config.seed,
                options=dict(spec.metadata.get("scorer_options", {})),
            )
            hook_scores = import_hook(spec.scorer)(spec, samples, [o.texts for o in outputs], ctx)
        sample_results = pipeline.score_generations(spec, info.name, samples, outputs, hook_scores)
    write_jsonl_atomic(samples_path(run_dir, info.name, spec.name), [r.to_json() for r in sample_results])
    return _task_result(spec, info.name, sample_results, data.source, data.sha256)


def _task_result(
    spec: TaskSpec, model: str, results: Sequence[SampleResult], source: str, sha: str
) -> TaskResult:
    higher = _directions(spec)
    metrics = aggregate_scores([r.scores for r in results], higher)
    return TaskResult(
        model=model,
        task=spec.name,
        metrics=metrics,
        n_samples=len(results),
        dataset=source,
        dataset_sha256=sha,
        task_version=spec.version,
    )


def _directions(spec: TaskSpec) -> dict[str, bool]:
    out = {}
    for ref in spec.metrics:
        if ref.name in {"acc", "acc_norm"}:
            continue
        try:
            from assay.metrics.registry import get_metric

            out[ref.label] = get_metric(ref.name).higher_is_better
        except Exception:  # a scorer hook's own metric names are not in the registry
            out[ref.label] = True
    return out


def _group_results(model: str, selection: Selection, results: Sequence[TaskResult]) -> list[TaskResult]:
    by_task = {r.task: r for r in results}
    out = []
    for group, members in selection.groups.items():
        parts = [by_task[m] for m in members if m in by_task]
        shared = set.intersection(*(set(p.metrics) for p in parts)) if parts else set()
        metrics = {name: pooled_group([p.metrics[name] for p in parts]) for name in sorted(shared)}
        out.append(
            TaskResult(
                model=model,
                task=group,
                metrics=metrics,
                n_samples=sum(p.n_samples for p in parts),
                is_group=True,
                subtasks=tuple(members),
                dataset=parts[0].dataset if parts else "",
            )
        )
    return out


def _write_outputs(record: RunRecord, run_dir: Path, config: RunConfig) -> None:
    summary = record.to_json()
    write_json_atomic(run_dir / "summary.json", summary)
    write_json_atomic(run_dir / "metrics.json", record.metric_map())
    append_rows(rows_from_summary(summary), Path(config.leaderboard))
    if config.track:
        from assay.tracking.mlflow_log import log_run

        log_run(run_dir, config.tracking_uri, config.experiment)
