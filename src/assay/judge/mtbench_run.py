"""`assay judge mtbench`: answer MT-Bench with a model, grade it with a judge, write a standard run folder.

The run folder (runs/<run_id>/) holds config.json, summary.json, metrics.json, responses.sqlite (the journal),
samples/<model>_<task>.jsonl, judgments.jsonl (the judge's rows, for `assay judge agreement`) and
mtbench_categories.png. It is composed by a RunSession (assay.session) as `assay run`'s is: every answer and
judgment is journaled as it finishes, an interrupted run keeps runs/<run_id>.partial/ and prints the
`assay judge mtbench --resume` command that continues it, computing only what the journal lacks.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from assay.models.backends import check_spec
from assay.models.base import Model
from assay.progress import RunProgress
from assay.records import MetricValue, ModelInfo, RunRecord, SampleResult, TaskResult
from assay.runner import concrete_spec
from assay.runs.layout import safe_name
from assay.runs.writer import RunWriter
from assay.session import RunSession, RunStart, Warn, stderr_warning

PLOT_NAME = "mtbench_categories.png"


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


def run_mtbench(
    config: MTBenchConfig,
    *,
    resume_dir: Path | None = None,
    show_progress: bool = True,
    warn: Warn = stderr_warning,
) -> tuple[RunRecord, Path]:
    """Answer, judge, aggregate, and write the run folder and leaderboard rows. Returns (record, run_dir).

    Every answer and judgment is journaled as it finishes; `resume_dir` (an interrupted run's `.partial`
    folder) continues that run, computing only what its journal lacks."""
    questions = _questions(config)
    prompts = load_fastchat_prompts(config.data_dir)
    specs = [concrete_spec(s) for s in (config.model, config.judge, *_baseline(config))]
    for spec in specs:  # unknown models and args fail before anything loads
        check_spec(spec)
    session = RunSession.start(_session_start(config, resume_dir))
    with session.guard(), RunProgress(enabled=show_progress) as progress:
        opened = [session.open_model(spec) for spec in specs]
        (model, info), (judge_model, judge_info) = opened[0], opened[1]
        judge = Judge(
            judge_model,
            JudgeConfig(max_tokens=config.judge_max_tokens, retries=config.retries, seed=config.seed),
        )
        answers = _answers(config, model, info.name, questions, progress)
        if config.baseline is None:
            out = _judge_single(config, info.name, judge, questions, answers, prompts, progress)
        else:
            base, base_info = opened[2]
            base_answers = _answers(config, base, base_info.name, questions, progress)
            out = _judge_pairs(config, info.name, base_info.name, judge, questions, answers, base_answers,
                               prompts, progress)  # fmt: skip
        # kept per evaluated model, as `assay run` keeps them (answers and judgments together)
        stats = {info.name: {**session.totals(), "judgments": len(out.rows),
                             "judge_attempts": sum(_attempts(r) for r in out.rows)}}  # fmt: skip
        _write_files(session.writer, config, info.name, judge_info.name, out)
    infos = [info_ for _, info_ in opened[:1] + opened[2:]]  # the evaluated model and the baseline
    return _finish(session, config, questions, infos, judge_info, out, stats, warn=warn)


def _questions(config: MTBenchConfig) -> list[Question]:
    questions = load_questions(
        config.data_dir, limit=config.questions, ids=config.question_ids, categories=config.categories
    )
    if not questions:
        raise UsageError(
            "no MT-Bench question matches the selection", hint="check --categories and --question-ids"
        )
    return questions


def _baseline(config: MTBenchConfig) -> tuple[ModelSpec, ...]:
    return () if config.baseline is None else (config.baseline,)


def _session_start(config: MTBenchConfig, resume_dir: Path | None = None) -> RunStart:
    return RunStart(
        command="judge-mtbench",
        config=config.model_dump(mode="json"),
        output=Path(config.output),
        resume_dir=resume_dir,
        resume="assay judge mtbench --resume",
        use_cache=config.use_cache,
        leaderboard=Path(config.leaderboard) if config.leaderboard else None,
        tracking=(config.tracking_uri, config.experiment) if config.track else None,
    )


def _answers(
    config: MTBenchConfig, model: Model, name: str, questions: list[Question], progress: RunProgress
) -> list[tuple[str, str]]:
    with progress.task(f"answers {name}", 2 * len(questions)) as advance:
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
    warn: Warn = stderr_warning,
) -> tuple[RunRecord, Path]:
    """The run folder of answers judged elsewhere, through the same session as `run_mtbench` (a failure
    before it is complete leaves nothing behind)."""
    session = RunSession.start(_session_start(config))
    with session.guard():
        _write_files(session.writer, config, infos[0].name, judge_info.name, out)
    return _finish(session, config, questions, infos, judge_info, out, stats, wall=wall, warn=warn)


def _finish(
    session: RunSession,
    config: MTBenchConfig,
    questions: list[Question],
    infos: list[ModelInfo],
    judge_info: ModelInfo,
    out: Judged,
    stats: dict[str, Any],
    *,
    wall: float | None = None,
    warn: Warn = stderr_warning,
) -> tuple[RunRecord, Path]:
    """The one TaskResult of the run; the session writes summary, metrics, leaderboard rows and tracking."""
    result = TaskResult(
        model=infos[0].name,
        task=config.task,
        metrics=out.metrics,
        n_samples=len(out.samples),
        dataset=DATASET,
        dataset_sha256=questions_sha256(questions),
        task_version="fastchat-llm_judge",
    )
    # the judge is no evaluated model (no leaderboard row of its own): its identity goes with the config
    record_config = {**config.model_dump(mode="json"), "judge_info": _info(judge_info)}
    return session.finish(models=infos, results=[result], stats=stats, config=record_config,
                          wall_seconds=wall, warn=warn)  # fmt: skip


def _write_files(writer: RunWriter, config: MTBenchConfig, name: str, judge: str, out: Judged) -> None:
    """Samples, judgments and the plot, into the unfinished folder."""
    writer.write_samples(name, config.task, out.samples)
    writer.write_rows("judgments.jsonl", out.rows)
    ylabel, ylim = ("score (1-10)", (0.0, 10.5)) if config.mode == "single" else ("win rate", (0.0, 1.05))
    title = f"MT-Bench: {name} (judge {judge})"
    plot_categories(out.series, writer.file(PLOT_NAME), title=title, ylabel=ylabel, ylim=ylim)


def _attempts(row: dict[str, Any]) -> int:
    """Judge generations behind one judgments row (a pair counts both orders)."""
    if "forward" in row:
        return int(row["forward"]["attempts"]) + int(row["backward"]["attempts"])
    return int(row["attempts"])


def _info(info: ModelInfo) -> dict[str, Any]:
    return {"name": info.name, "backend": info.backend, "args": info.args, "fingerprint": info.fingerprint}
