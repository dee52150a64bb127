"""The one place that composes the stages: tasks -> samples -> requests -> model -> scores -> run folder.

record, run_dir = run_evaluation(RunConfig(models=(ModelSpec(model="smollm2-135m"),), tasks=("arc_easy",)))

Everything the user named (tasks, task files, models and their args) is checked before the run folder is
started, and each task is built once (rows, samples, requests: assay.preflight, whose check_run hands them
over) for every model; the folder, the models and the journal are composed by a RunSession (assay.session),
as for `assay judge mtbench` and `assay score`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay import pipeline
from assay.config import ModelSpec, RunConfig
from assay.data.sources import data_dir_from
from assay.errors import UsageError
from assay.execution.base import Executor
from assay.metrics.aggregate import aggregate_scores, pooled_group
from assay.models.backends import check_spec, resolve_spec
from assay.models.base import Model
from assay.models.cache import CachedModel
from assay.preflight import CheckedRun, PreparedTask, prepare_task, run_model_args
from assay.progress import RunProgress
from assay.records import ModelInfo, RunRecord, SampleResult, TaskResult
from assay.runs.writer import RunWriter
from assay.session import RunSession, RunStart, stderr_warning
from assay.tasks.build import fewshot_notices
from assay.tasks.catalog import Selection, select
from assay.tasks.scoring import ScoringContext
from assay.tasks.spec import TaskSpec

if TYPE_CHECKING:
    from assay.metrics.catalog import MetricSpec

Warn = Callable[[str], None]


def run_evaluation(
    config: RunConfig,
    *,
    resume_dir: Path | None = None,
    show_progress: bool = True,
    model: Model | None = None,
    warn: Warn = stderr_warning,
    checked: CheckedRun | None = None,
) -> tuple[RunRecord, Path]:
    """Evaluate every model on every task; write the run folder and leaderboard rows; return the record.

    `model` (optional) is used instead of loading config.models[0]: a caller that already holds a model
    (or a test with a fake one) injects it. `resume_dir` is an unfinished run's folder. `checked` is what
    assay.preflight.check_run(config) built (the tasks' samples and requests); without it they are built here.
    """
    if checked is not None and checked.config != config:
        raise ValueError("run_evaluation: `checked` was built for another configuration")
    if model is not None and len(config.models) != 1:
        raise UsageError("an injected model evaluates exactly one model spec")
    specs = tuple(concrete_spec(spec) for spec in config.models)  # config.json keeps the models:/ URIs
    for spec in specs:  # unknown models, args and inline secrets fail before anything is written
        if model is None:
            check_spec(spec)
        refuse_secrets(spec)
    checked = checked or _build(config)  # a task that cannot be built fails here, before the folder exists
    if config.executor == "ray" and model is None:  # an unreachable cluster or missing resources: nothing written
        from assay.execution.ray_pool import check_resources, connect, parse_resources

        connect(config.ray_address)
        check_resources(config.workers, parse_resources(config.worker_resources))
    session = RunSession.start(
        RunStart(
            command="run",
            config=config.model_dump(mode="json"),
            output=config.output_dir,
            run_dir=Path(config.run_dir) if config.run_dir else None,
            resume_dir=resume_dir,
            use_cache=config.use_cache,
            leaderboard=Path(config.leaderboard) if config.leaderboard else None,
            tracking=(config.tracking_uri, config.experiment) if config.track else None,
        )
    )
    with session.guard(), RunProgress(enabled=show_progress) as progress:
        infos, results, stats = _run(checked, specs, session, progress, model)
    return session.finish(models=infos, results=results, stats=stats, warn=warn)


def _build(config: RunConfig) -> CheckedRun:
    """Every task of `config` built (for a caller that did not run check_run)."""
    selection = select(config.tasks, config.task_files)
    data_dir = data_dir_from(config.data_dir)
    return CheckedRun(config, selection, data_dir, tuple(prepare_task(s, config, data_dir) for s in selection.tasks))


def concrete_spec(spec: ModelSpec) -> ModelSpec:
    """A `models:/Name@alias` URI resolved to the backend and args its registry version names (the model
    registry lives in tracking/, above models/, so it is resolved here and not by the backend table)."""
    if not spec.model.startswith("models:/"):
        return spec
    from assay.tracking.model_registry import resolve_registry_uri

    return resolve_registry_uri(spec)


_SECRET_WORDS = ("api_key", "apikey", "token", "secret", "password")


def refuse_secrets(spec: ModelSpec) -> None:
    """Keys must come from the environment: config.json and summary.json would otherwise store them."""
    for key in spec.args:
        name = key.lower()  # `api_key`, `hf_token`, `password` are secrets; `latency_token_ms`, `api_key_env` not
        if any(name == word or name.endswith("_" + word) for word in _SECRET_WORDS):
            raise UsageError(
                f"model argument {key!r} would be written into the run record",
                hint="put the key in an environment variable and pass api_key_env=NAME (default OPENAI_API_KEY)",
            )


def _run(
    checked: CheckedRun,
    specs: tuple[ModelSpec, ...],
    session: RunSession,
    progress: RunProgress,
    injected: Model | None,
) -> tuple[list[ModelInfo], list[TaskResult], dict[str, Any]]:
    config, selection, data_dir = checked.config, checked.selection, checked.data_dir
    infos: list[ModelInfo] = []
    results: list[TaskResult] = []
    stats: dict[str, Any] = {}
    for spec in specs:
        model, info = _open_model(spec, config, session, injected, progress.log)
        infos.append(info)
        model_results = _evaluate_tasks(checked.tasks, model, info, config, data_dir, session.writer, progress)
        results.extend(model_results)
        results.extend(_group_results(info.name, selection, model_results))
        results.extend(_evaluate_lmeval(selection, model, info, config, data_dir, session.writer, progress))
        stats[info.name] = {**model.stats, **model.executor.stats}
    return infos, results, stats


def _open_model(
    spec: ModelSpec, config: RunConfig, session: RunSession, injected: Model | None, log: Warn
) -> tuple[CachedModel, ModelInfo]:
    """The session's model for `spec`, with the run's options it takes (hf: --batch-size, --device); on Ray the
    workers load it, not this process."""
    defaults = run_model_args(resolve_spec(spec)[0], config)

    def ray_executor(resolved: ModelSpec) -> Executor:
        from assay.execution.ray_pool import RayExecutor, parse_resources

        need = parse_resources(config.worker_resources)
        return RayExecutor(resolved, config.workers, need, log)

    make = ray_executor if config.executor == "ray" and injected is None else None
    return session.open_model(spec, defaults=defaults, inner=injected, make=make)


def _evaluate_tasks(
    prepared: Sequence[PreparedTask],
    model: CachedModel,
    info: ModelInfo,
    config: RunConfig,
    data_dir: Path | None,
    writer: RunWriter,
    progress: RunProgress,
) -> list[TaskResult]:
    """Every task's requests go to the model at once (one queue of units, one progress bar), then each is scored."""
    if not prepared:
        return []
    for line in fewshot_notices([(p.spec, p.data) for p in prepared], config.num_fewshot):
        progress.log(line)
    lists = [model.work_list(p.spec.name, p.kind, p.requests) for p in prepared]
    tasks = [p.spec.name for p in prepared]
    label = f"{info.name} · {tasks[0]}" if len(tasks) == 1 else f"{info.name} · {len(tasks)} tasks"
    with progress.task(label, sum(len(p.requests) for p in prepared)) as advance:
        answers = model.run_lists(lists, advance)
    return [
        _score_task(p, responses, info, config, data_dir, writer)
        for p, responses in zip(prepared, answers, strict=True)
    ]


def _evaluate_lmeval(selection: Selection, model: CachedModel, info: ModelInfo, config: RunConfig,
                    data_dir: Path | None, writer: RunWriter, progress: RunProgress) -> list[TaskResult]:  # fmt: skip
    """The `lm:` tasks, evaluated by lm-eval's own code with this model answering (assay.lmeval)."""
    if not selection.lmeval.names:
        return []
    from assay.lmeval.evaluate import evaluate_lmeval, write_lmeval_results

    results, samples, raw = evaluate_lmeval(selection.lmeval, model, info, config, data_dir, progress)
    for task, rows in samples.items():
        writer.write_samples(info.name, task, rows)
    write_lmeval_results(writer.file("lm_eval"), info.name, raw)
    return results


def _score_task(
    prep: PreparedTask,
    responses: list[Any],
    info: ModelInfo,
    config: RunConfig,
    data_dir: Path | None,
    writer: RunWriter,
) -> TaskResult:
    spec, samples = prep.spec, prep.samples
    sandbox = None
    if config.executor == "ray":  # generated code runs on the cluster's nodes (started only if the task runs code)
        from assay.execution.ray_sandbox import RaySandbox

        sandbox = RaySandbox()
    ctx = ScoringContext(data_dir=str(data_dir) if data_dir else None, seed=config.seed,
                         options=dict(spec.scorer_options), sandbox=sandbox)  # fmt: skip
    try:
        sample_results = pipeline.OUTPUTS[spec.output_type].score(spec, info.name, samples, responses, ctx)
    finally:
        if sandbox is not None:
            sandbox.close()
    writer.write_samples(info.name, spec.name, sample_results)
    from assay.dvc.data import data_version  # the data folder's DVC version, when under `dvc add`

    dvc = data_version(data_dir) if data_dir else ""
    return _task_result(spec, info.name, sample_results, prep.data.source, prep.data.sha256, dvc)


def _task_result(
    spec: TaskSpec, model: str, results: Sequence[SampleResult], source: str, sha: str, dvc: str = ""
) -> TaskResult:
    metrics = aggregate_scores([r.scores for r in results], metrics=_catalog_metrics(spec))
    return TaskResult(
        model=model,
        task=spec.name,
        metrics=metrics,
        n_samples=len(results),
        dataset=source,
        dataset_sha256=sha,
        dataset_dvc=dvc,
        task_version=spec.version,
    )


def _catalog_metrics(spec: TaskSpec) -> dict[str, MetricSpec]:
    """The task's metrics that the catalog defines, by reported name: their direction and aggregation are the
    catalog's, as in `assay score`. Others (acc, a scorer hook's pass@k or judge scores) are means, higher better."""
    from assay.metrics.catalog import METRICS

    return {ref.label: METRICS[ref.name] for ref in spec.metrics if ref.name in METRICS}


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
