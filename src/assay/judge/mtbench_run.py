"""`assay judge mtbench`: answer MT-Bench with a model, grade it with a judge, write a standard run folder.

The run folder (runs/<run_id>/) holds config.json, summary.json, metrics.json,
samples/<model>_<task>.jsonl, judgments.jsonl (the judge's rows, for `assay judge agreement`) and
mtbench_categories.png. It is built in a hidden sibling folder and renamed into place when complete, so an
interrupted run leaves no half-written run behind (the generation cache keeps the work done so far).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

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
from assay.judge.runinfo import model_info
from assay.leaderboard.store import append_rows, rows_from_record
from assay.models.aliases import cache_root
from assay.models.base import Model
from assay.models.cache import CachedModel, ResponseStore
from assay.models.registry import load_model
from assay.records import MetricValue, ModelInfo, RunRecord, SampleResult, TaskResult
from assay.runs import environment
from assay.runs.layout import new_run_id, safe_name, samples_path, write_json_atomic, write_jsonl_atomic

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


@contextmanager
def _progress() -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=False) as bar:
        yield bar


def _phase(bar: Progress, label: str, total: int) -> Any:
    task = bar.add_task(label, total=total)

    def advance(n: int) -> None:
        # retries add requests beyond the first estimate
        current = bar.tasks[task].completed + n
        if current > (bar.tasks[task].total or 0):
            bar.update(task, total=current)
        bar.advance(task, n)

    return advance


class _Models:
    """Loads each distinct ModelSpec once (a model that is also its own judge is loaded one time).

    With the cache on, every model is wrapped in the model layer's response cache, so answers and
    judgments computed once (also by an interrupted run) are never recomputed.
    """

    def __init__(self, use_cache: bool) -> None:
        self.loaded: dict[str, Model] = {}
        self.store = ResponseStore(cache_root() / CACHE_FILE) if use_cache else None

    def get(self, spec: ModelSpec) -> Model:
        key = spec.model_dump_json()
        if key not in self.loaded:
            model = load_model(spec)
            self.loaded[key] = CachedModel(model, [self.store], [self.store]) if self.store else model
        return self.loaded[key]

    def stats(self) -> dict[str, int]:
        out = {"requests_total": 0, "requests_cached": 0, "requests_computed": 0}
        for model in self.loaded.values():
            if isinstance(model, CachedModel):
                for name in out:
                    out[name] += int(model.stats.get(name, 0))
        return out

    def close(self) -> None:
        for model in self.loaded.values():
            (model.inner if isinstance(model, CachedModel) else model).close()
        if self.store is not None:
            self.store.close()


def run_mtbench(config: MTBenchConfig) -> tuple[RunRecord, Path]:
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
    models = _Models(config.use_cache)
    try:
        model = models.get(config.model)
        judge = Judge(
            models.get(config.judge),
            JudgeConfig(max_tokens=config.judge_max_tokens, retries=config.retries, seed=config.seed),
        )
        with _progress() as bar:
            answers = generate_answers(
                model,
                questions,
                max_tokens=config.answer_max_tokens,
                seed=config.seed,
                progress=_phase(bar, f"answers {model.name}", 2 * len(questions)),
            )
            if config.mode == "single":
                out = _judge_single(config, model.name, judge, questions, answers, prompts, bar)
            else:
                assert config.baseline is not None
                base = models.get(config.baseline)
                base_answers = generate_answers(
                    base,
                    questions,
                    max_tokens=config.answer_max_tokens,
                    seed=config.seed,
                    progress=_phase(bar, f"answers {base.name}", 2 * len(questions)),
                )
                out = _judge_pairs(
                    config, model.name, base.name, judge, questions, answers, base_answers, prompts, bar
                )
        infos = [model_info(config.model, m) for m in [model, *([] if config.baseline is None else [base])]]
        judge_info = model_info(config.judge, judge.model)
        stats = {
            **models.stats(),
            "judgments": len(out.rows),
            "judge_attempts": sum(_attempts(r) for r in out.rows),
        }
    finally:
        models.close()
    return write_run(config, questions, infos, judge_info, out, stats, time.monotonic() - started)


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
    bar: Progress,
) -> Judged:
    inputs = single_inputs(questions, answers, prompts)
    judgments = judge.grade(inputs, _phase(bar, "judging", len(inputs)))
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
    bar: Progress,
) -> Judged:
    inputs = pair_inputs(questions, answers, base_answers, prompts)
    pairs = judge.compare(inputs, _phase(bar, "judging (both orders)", 2 * len(inputs)))
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
) -> tuple[RunRecord, Path]:
    """Write the run folder atomically (built aside, then renamed) and append the leaderboard rows."""
    samples, metrics, rows, series = out.samples, out.metrics, out.rows, out.series
    run_id = new_run_id()
    final = Path(config.output) / run_id
    tmp = Path(config.output) / f".{run_id}.partial"
    name = infos[0].name
    result = TaskResult(
        model=name,
        task=config.task,
        metrics=metrics,
        n_samples=len(samples),
        dataset=DATASET,
        dataset_sha256=questions_sha256(questions),
        task_version="fastchat-llm_judge",
    )
    record = RunRecord(
        run_id=run_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        config={**config.model_dump(mode="json"), "judge_info": _info(judge_info)},
        models=tuple(infos),
        results=(result,),
        environment=environment.capture(),
        git_sha=environment.git_sha(),
        wall_seconds=round(wall, 3),
        stats=stats,
    )
    try:
        write_json_atomic(tmp / "config.json", config.model_dump(mode="json"))
        write_jsonl_atomic(samples_path(tmp, name, config.task), [s.to_json() for s in samples])
        write_jsonl_atomic(tmp / "judgments.jsonl", rows)
        ylabel, ylim = ("score (1-10)", (0.0, 10.5)) if config.mode == "single" else ("win rate", (0.0, 1.05))
        plot_categories(
            series,
            tmp / PLOT_NAME,
            title=f"MT-Bench: {name} (judge {judge_info.name})",
            ylabel=ylabel,
            ylim=ylim,
        )
        write_json_atomic(tmp / "metrics.json", record.metric_map())
        summary = record.to_json()
        write_json_atomic(tmp / "summary.json", summary)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if config.leaderboard:
        append_rows(rows_from_record(record), Path(config.leaderboard))
    if config.track:
        from assay.tracking.mlflow_log import log_run

        log_run(final, config.tracking_uri, config.experiment)
    return record, final


def _attempts(row: dict[str, Any]) -> int:
    """Judge generations behind one judgments row (a pair counts both orders)."""
    if "forward" in row:
        return int(row["forward"]["attempts"]) + int(row["backward"]["attempts"])
    return int(row["attempts"])


def _info(info: ModelInfo) -> dict[str, Any]:
    return {"name": info.name, "backend": info.backend, "args": info.args, "fingerprint": info.fingerprint}
