"""`assay judge mtbench`: answer MT-Bench with a model, grade it with a judge, write a standard run folder.

The run folder (runs/<run_id>/) holds config.json, summary.json, metrics.json,
samples/<model>_<task>.jsonl, judgments.jsonl (the judge's rows, for `assay judge agreement`) and
mtbench_categories.png. It is written by the RunWriter (runs/<run_id>.partial/ until complete, then renamed),
so an interrupted run leaves no half-written run behind (the response cache keeps the work done so far).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

from assay.config import ModelSpec
from assay.errors import UsageError
from assay.judge.judge import Judge, JudgeConfig
from assay.judge.mtbench import (
    DATASET,
    Question,
    generate_answers,
    load_questions,
    pair_inputs,
    questions_sha256,
    single_inputs,
)
from assay.judge.mtbench_results import (
    category_turn_means,
    pair_metrics,
    pair_results,
    single_metrics,
    single_results,
)
from assay.judge.plot import plot_categories
from assay.judge.prompts import load_fastchat_prompts
from assay.judge.rows import pair_row, single_row
from assay.models.aliases import cache_root
from assay.models.backends import check_spec, load_model, model_info, resolve_spec
from assay.models.base import Model
from assay.models.cache import CachedModel, ResponseStore
from assay.progress import RunProgress
from assay.records import MetricValue, ModelInfo, RunRecord, SampleResult, TaskResult
from assay.runner import concrete_spec
from assay.runs import environment
from assay.runs.layout import safe_name
from assay.runs.writer import RunWriter, Tracker

PLOT_NAME = "mtbench_categories.png"
CACHE_FILE = "responses.sqlite"  # the user cache under ASSAY_CACHE, shared with `assay run`


class MTBenchConfig(BaseModel):
    """Everything an MT-Bench judge run needs; saved as the run's config.json."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: ModelSpec
    judge: ModelSpec
    mode: Literal["single", "pairwise"] = "single"
    baseline: ModelSpec | None = None
    questions: int | None = None  # the first N (after the id and category filters)
    question_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    answer_max_tokens: int = 1024  # FastChat's default max_new_token
    judge_max_tokens: int = 2048  # FastChat's judge max_tokens
    retries: int = 2
    seed: int = 1234
    data_dir: str | None = None
    output: str = "runs"
    leaderboard: str | None = "data/leaderboard.csv"
    use_cache: bool = True
    track: bool = False  # log the finished run folder to MLflow
    tracking_uri: str | None = None
    experiment: str | None = None

    @model_validator(mode="after")
    def _pairwise_needs_baseline(self) -> MTBenchConfig:
        if self.mode == "pairwise" and self.baseline is None:
            raise ValueError("pairwise mode needs --baseline MODEL")
        return self

    @property
    def task(self) -> str:
        if self.mode == "single":
            return "mtbench"
        assert self.baseline is not None
        return f"mtbench_vs_{safe_name(self.baseline.name or self.baseline.model)}"


class _Models:
    """Loads each distinct ModelSpec once (a model that is also its own judge is loaded one time).

    With the cache on, every model is wrapped in the model layer's response cache, so answers and
    judgments computed once (also by an interrupted run) are never recomputed.
    """

    def __init__(self, use_cache: bool) -> None:
        self.loaded: dict[str, Model] = {}
        self.backends: dict[str, Model] = {}
        self.store = ResponseStore(cache_root() / CACHE_FILE) if use_cache else None

    def get(self, spec: ModelSpec) -> Model:
        key = spec.model_dump_json()
        if key not in self.loaded:
            model = self.backends[key] = load_model(concrete_spec(spec))
            self.loaded[key] = CachedModel(model, [self.store], [self.store]) if self.store else model
        return self.loaded[key]

    def info(self, spec: ModelSpec) -> ModelInfo:
        """What the run records about a model it loaded (identity from the backend, not its cache)."""
        backend, args, _ = resolve_spec(concrete_spec(spec))
        return model_info(backend, args, self.backends[spec.model_dump_json()])

    def stats(self) -> dict[str, int]:
        out = {"requests_total": 0, "requests_cached": 0, "requests_computed": 0}
        for model in self.loaded.values():
            if isinstance(model, CachedModel):
                for name in out:
                    out[name] += int(model.stats.get(name, 0))
        return out

    def close(self) -> None:
        for model in self.backends.values():
            model.close()
        if self.store is not None:
            self.store.close()


Warn = Callable[[str], None]


def _stderr_warning(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


def run_mtbench(
    config: MTBenchConfig, *, show_progress: bool = True, warn: Warn = _stderr_warning
) -> tuple[RunRecord, Path]:
    """Answer, judge, aggregate, and write the run folder and leaderboard rows. Returns (record, run_dir)."""
    started = time.monotonic()
    questions = load_questions(
        config.data_dir, limit=config.questions, ids=config.question_ids, categories=config.categories
    )
    if not questions:
        raise UsageError(
            "no MT-Bench question matches the selection", hint="check --categories and --question-ids"
        )
    prompts = load_fastchat_prompts(config.data_dir)
    specs = [config.model, config.judge] + ([] if config.baseline is None else [config.baseline])
    for spec in specs:  # unknown models and args fail before anything loads
        check_spec(concrete_spec(spec))
    models = _Models(config.use_cache)
    try:
        with RunProgress(enabled=show_progress) as progress:
            out = _answer_and_judge(config, models, questions, prompts, progress)
        infos = [models.info(s) for s in [config.model, *([] if config.baseline is None else [config.baseline])]]
        judge_info = models.info(config.judge)
        # kept per evaluated model, as `assay run` keeps them (answers and judgments together)
        stats = {
            infos[0].name: {
                **models.stats(),
                "judgments": len(out.rows),
                "judge_attempts": sum(_attempts(r) for r in out.rows),
            }
        }
    finally:
        models.close()
    return write_run(config, questions, infos, judge_info, out, stats, time.monotonic() - started, warn=warn)


def _answer_and_judge(
    config: MTBenchConfig, models: _Models, questions: list[Question], prompts: Any, progress: RunProgress
) -> Judged:
    model = models.get(config.model)
    judge = Judge(
        models.get(config.judge),
        JudgeConfig(max_tokens=config.judge_max_tokens, retries=config.retries, seed=config.seed),
    )
    answers = _answers(config, model, questions, progress)
    if config.mode == "single":
        return _judge_single(config, model.name, judge, questions, answers, prompts, progress)
    assert config.baseline is not None
    base = models.get(config.baseline)
    base_answers = _answers(config, base, questions, progress)
    return _judge_pairs(config, model.name, base.name, judge, questions, answers, base_answers, prompts, progress)


def _answers(
    config: MTBenchConfig, model: Model, questions: list[Question], progress: RunProgress
) -> list[tuple[str, str]]:
    with progress.task(f"answers {model.name}", 2 * len(questions)) as advance:
        return generate_answers(
            model, questions, max_tokens=config.answer_max_tokens, seed=config.seed, progress=advance
        )


@dataclass(frozen=True, slots=True)
class Judged:
    """What judging produced: the sample rows, the metrics, the judgments rows and the plot's series."""

    samples: list[SampleResult]
    metrics: dict[str, MetricValue]
    rows: list[dict[str, Any]]
    series: dict[str, dict[str, float | None]]


def _judge_single(
    config: MTBenchConfig,
    name: str,
    judge: Judge,
    questions: list[Question],
    answers: list[tuple[str, str]],
    prompts: Any,
    progress: RunProgress,
) -> Judged:
    inputs = single_inputs(questions, answers, prompts)
    with progress.task("judging", len(inputs)) as advance:  # a retry adds requests beyond this total
        judgments = judge.grade(inputs, advance)
    answer_of = {
        f"{q.question_id}/turn{k}": a[k - 1] for q, a in zip(questions, answers, strict=True) for k in (1, 2)
    }
    rows = [single_row(j, model=name, answer=answer_of[j.item_id]) for j in judgments]
    metrics = single_metrics(questions, judgments)
    series = category_turn_means(questions, judgments)
    return Judged(
        single_results(name, questions, answers, judgments, task=config.task), metrics, rows, series
    )


def _judge_pairs(
    config: MTBenchConfig,
    name: str,
    base: str,
    judge: Judge,
    questions: list[Question],
    answers: list[tuple[str, str]],
    base_answers: list[tuple[str, str]],
    prompts: Any,
    progress: RunProgress,
) -> Judged:
    inputs = pair_inputs(questions, answers, base_answers, prompts)
    with progress.task("judging (both orders)", 2 * len(inputs)) as advance:
        pairs = judge.compare(inputs, advance)
    text = {
        f"{q.question_id}/turn{k}": (a[k - 1], b[k - 1])
        for q, a, b in zip(questions, answers, base_answers, strict=True)
        for k in (1, 2)
    }
    rows = [
        pair_row(p, model_a=name, model_b=base, answer_a=text[p.item_id][0], answer_b=text[p.item_id][1])
        for p in pairs
    ]
    metrics = pair_metrics(questions, pairs)
    series = {
        f"{name} vs {base}": {
            q.category: (
                metrics[f"win_rate_{q.category}"].value if f"win_rate_{q.category}" in metrics else None
            )
            for q in questions
        }
    }
    results = pair_results(name, base, questions, answers, base_answers, pairs, config.task)
    return Judged(results, metrics, rows, series)


def write_run(
    config: MTBenchConfig,
    questions: list[Question],
    infos: list[ModelInfo],
    judge_info: ModelInfo,
    out: Judged,
    stats: dict[str, Any],
    wall: float,
    *,
    warn: Warn = _stderr_warning,
) -> tuple[RunRecord, Path]:
    """Write the run folder through the RunWriter, then the leaderboard rows, then MLflow (with --track)."""
    name = infos[0].name
    writer = RunWriter.start(Path(config.output), config.model_dump(mode="json"))
    try:
        _write_files(writer, config, name, judge_info.name, out)
        result = TaskResult(
            model=name,
            task=config.task,
            metrics=out.metrics,
            n_samples=len(out.samples),
            dataset=DATASET,
            dataset_sha256=questions_sha256(questions),
            task_version="fastchat-llm_judge",
        )
        record = RunRecord(
            run_id=writer.run_id,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            config={**config.model_dump(mode="json"), "judge_info": _info(judge_info)},
            models=tuple(infos),
            results=(result,),
            environment=environment.capture(),
            git_sha=environment.git_sha(),
            wall_seconds=round(wall, 3),
            stats=stats,
            command="judge-mtbench",
        )
    except BaseException:
        writer.discard()  # nothing half-written stays behind
        raise
    leaderboard = Path(config.leaderboard) if config.leaderboard else None
    done = writer.finish(record, leaderboard=leaderboard, trackers=_trackers(config, writer.final))
    for text in done.logged:  # --track: where the run went
        print(text, file=sys.stderr, flush=True)
    for text in done.warnings:
        warn(text)
    return record, done.path


def _write_files(writer: RunWriter, config: MTBenchConfig, name: str, judge: str, out: Judged) -> None:
    """Samples, judgments and the plot, into the unfinished folder."""
    writer.write_samples(name, config.task, out.samples)
    writer.write_rows("judgments.jsonl", out.rows)
    ylabel, ylim = ("score (1-10)", (0.0, 10.5)) if config.mode == "single" else ("win rate", (0.0, 1.05))
    title = f"MT-Bench: {name} (judge {judge})"
    plot_categories(out.series, writer.file(PLOT_NAME), title=title, ylabel=ylabel, ylim=ylim)


def _trackers(config: MTBenchConfig, folder: Path) -> list[Tracker]:
    if not config.track:
        return []
    from assay.tracking.mlflow_log import mlflow_tracker

    return [mlflow_tracker(folder, config.tracking_uri, config.experiment)]


def _attempts(row: dict[str, Any]) -> int:
    """Judge generations behind one judgments row (a pair counts both orders)."""
    if "forward" in row:
        return int(row["forward"]["attempts"]) + int(row["backward"]["attempts"])
    return int(row["attempts"])


def _info(info: ModelInfo) -> dict[str, Any]:
    return {"name": info.name, "backend": info.backend, "args": info.args, "fingerprint": info.fingerprint}
