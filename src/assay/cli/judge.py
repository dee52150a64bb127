"""`assay judge ...`: MT-Bench with an LLM judge, judging ITEMS files, and judge-vs-human agreement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from pydantic import ValidationError
from rich.table import Table

from assay.cli.common import console, console_err, parse_kv
from assay.config import ModelSpec
from assay.errors import UsageError

if TYPE_CHECKING:
    from assay.judge.mtbench_run import MTBenchConfig

judge_app = typer.Typer(
    help="LLM-as-judge: MT-Bench, judging items, agreement with human labels.", no_args_is_help=True
)


def _ids(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    try:
        return tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise UsageError(
            f"--question-ids takes comma-separated numbers, got {text!r}", hint="e.g. 81,101"
        ) from None


def _spec(model: str, args: str | None, name: str = "") -> ModelSpec:
    return ModelSpec(model=model, args=parse_kv(args), name=name)


@judge_app.command("mtbench")
def mtbench_cmd(
    model: str = typer.Option(None, "--model", help="Model answering (backend or alias, e.g. smollm2-135m)."),
    model_args: str = typer.Option(None, "--model-args", help="key=value,... for the model's backend."),
    judge: str = typer.Option(None, "--judge", help="Judge model (backend or alias)."),
    judge_args: str = typer.Option(None, "--judge-args", help="key=value,... for the judge's backend."),
    mode: str = typer.Option("single", "--mode", help="single (1-10 per turn) or pairwise (vs --baseline)."),
    baseline: str = typer.Option(None, "--baseline", help="Baseline model for pairwise mode."),
    baseline_args: str = typer.Option(None, "--baseline-args", help="key=value,... for the baseline."),
    questions: int = typer.Option(None, "--questions", min=1, help="Use the first N selected questions."),
    question_ids: str = typer.Option(None, "--question-ids", help="Comma-separated question ids (81-160)."),
    categories: str = typer.Option(
        None, "--categories", help="Comma-separated categories (writing,math,...)."
    ),
    answer_max_tokens: int = typer.Option(1024, "--max-tokens", min=1, help="Answer length cap per turn."),
    judge_max_tokens: int = typer.Option(2048, "--judge-max-tokens", min=1, help="Judge output length cap."),
    retries: int = typer.Option(2, "--retries", min=0, help="Extra judge attempts for malformed output."),
    seed: int = typer.Option(1234, "--seed", help="Seed for sampled answers and judge retries."),
    data_dir: str = typer.Option(None, "--data-dir", help="Benchmark data folder (else $ASSAY_DATA_DIR)."),
    output: str = typer.Option("runs", "--output", help="Folder for run folders."),
    leaderboard: str = typer.Option(
        "data/leaderboard.csv", "--leaderboard", help="Leaderboard CSV ('' = none)."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse or store generations."),
    track: bool = typer.Option(False, "--track", help="Log the run folder to MLflow."),
    tracking_uri: str = typer.Option(None, "--tracking-uri", help="MLflow tracking URI."),
    experiment: str = typer.Option(None, "--experiment", help="MLflow experiment name."),
    resume: str = typer.Option(
        None, "--resume", help="Finish an interrupted MT-Bench run (run id or folder) with its saved config."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Answer MT-Bench questions (two turns) and grade them with a judge; writes a run folder."""
    from assay.judge.mtbench_run import PLOT_NAME, MTBenchConfig, run_mtbench

    if resume:
        from assay.session import unfinished_run

        run_dir = unfinished_run(resume, Path(output))
        config = _saved_mtbench_config(run_dir)
        record, folder = run_mtbench(config, resume_dir=run_dir, show_progress=not quiet)
        _print_metrics(record.results[0].metrics, f"MT-Bench {record.results[0].model} ({config.task})")
        console.print(f"run folder: {folder}  plot: {folder / PLOT_NAME}", highlight=False)
        return
    if not model or not judge:
        raise UsageError(f"{'--model' if not model else '--judge'} is required",
                         hint="e.g. --model smollm2-135m --judge smollm2-135m (or --resume RUN)")  # fmt: skip
    if mode not in {"single", "pairwise"}:
        raise UsageError(f"unknown mode {mode!r}", hint="use --mode single or --mode pairwise")
    try:
        config = MTBenchConfig(
            model=_spec(model, model_args),
            judge=_spec(judge, judge_args),
            mode=mode,  # type: ignore[arg-type]
            baseline=_spec(baseline, baseline_args) if baseline else None,
            questions=questions,
            question_ids=_ids(question_ids),
            categories=tuple(c.strip() for c in (categories or "").split(",") if c.strip()),
            answer_max_tokens=answer_max_tokens,
            judge_max_tokens=judge_max_tokens,
            retries=retries,
            seed=seed,
            data_dir=data_dir,
            output=output,
            leaderboard=leaderboard or None,
            use_cache=not no_cache,
            track=track,
            tracking_uri=tracking_uri,
            experiment=experiment,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(str(first["msg"]).removeprefix("Value error, ")) from None
    _check_outputs(config.output, config.leaderboard)
    record, run_dir = run_mtbench(config, show_progress=not quiet)
    _print_metrics(record.results[0].metrics, f"MT-Bench {record.results[0].model} ({config.task})")
    console.print(f"run folder: {run_dir}  plot: {run_dir / PLOT_NAME}", highlight=False)


def _saved_mtbench_config(run_dir: Path) -> MTBenchConfig:
    from assay.judge.mtbench_run import MTBenchConfig
    from assay.runs.folder import read_config_as

    return read_config_as(run_dir, MTBenchConfig, "assay judge mtbench",
                          hint="resume an `assay run` with `assay run --resume`; else start a new run")  # fmt: skip


def _check_outputs(output: str, leaderboard: str | None) -> None:
    """Where the run folder and the leaderboard rows go is checked before any answer is generated."""
    from assay.leaderboard.store import check_appendable
    from assay.preflight import check_writable_folder

    check_writable_folder(Path(output), "--output")
    if leaderboard:
        check_appendable(Path(leaderboard))


def _print_metrics(metrics: dict, title: str) -> None:  # type: ignore[type-arg]
    table = Table(title=title)
    for column in ("metric", "value", "stderr", "n"):
        table.add_column(column)
    for name, mv in metrics.items():
        stderr = "" if mv.stderr is None else f"{mv.stderr:.3f}"
        table.add_row(name, f"{mv.value:.3f}", stderr, str(mv.n))
    console.print(table)


@judge_app.command("items")
def items_cmd(
    items: Path = typer.Argument(..., help="ITEMS.jsonl in the human app's format."),
    judge: str = typer.Option(..., "--judge", help="Judge model (backend or alias)."),
    judge_args: str = typer.Option(None, "--judge-args", help="key=value,... for the judge's backend."),
    mode: str = typer.Option("single", "--mode", help="single or pairwise (as the items file)."),
    output: Path = typer.Option(..., "--output", "-o", help="Judgments JSONL to write."),
    max_tokens: int = typer.Option(512, "--judge-max-tokens", help="Judge output length cap."),
    retries: int = typer.Option(2, "--retries", help="Extra attempts for malformed output."),
    data_dir: str = typer.Option(None, "--data-dir", help="Data folder (pairwise uses FastChat's pair-v2)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse or store judgments."),
) -> None:
    """Judge every item of an ITEMS.jsonl file; the rows join the human app's export on item_id."""
    from rich.progress import Progress

    from assay.human.items import check_mode, load_items
    from assay.judge.items import judge_items
    from assay.judge.judge import Judge, JudgeConfig
    from assay.models.aliases import cache_root
    from assay.models.backends import load_model
    from assay.models.base import Model
    from assay.models.cache import CachedModel, ResponseStore
    from assay.runs.layout import write_jsonl_atomic
    from assay.session import CACHE_FILE

    checked = check_mode(mode)
    load_items(items, checked)  # a bad items file fails before a model is loaded
    model: Model = load_model(_spec(judge, judge_args))
    if not no_cache:
        store = ResponseStore(cache_root() / CACHE_FILE)
        model = CachedModel(model, [store], [store])
    try:
        with Progress(transient=True) as bar:
            task = bar.add_task("judging", total=None)
            grader = Judge(model, JudgeConfig(max_tokens=max_tokens, retries=retries))
            rows = judge_items(
                items, checked, grader, data_dir=data_dir, progress=lambda n: bar.advance(task, n)
            )
    finally:
        model.close()
    write_jsonl_atomic(output, rows)
    key = "score" if checked == "single" else "winner"
    unscored = sum(r[key] is None for r in rows)
    console_err.print(f"wrote {len(rows)} judgments to {output} ({unscored} unscored)")


@judge_app.command("agreement")
def agreement_cmd(
    judgments: Path = typer.Argument(
        ..., help="Judgments JSONL (from `assay judge mtbench` or `judge items`)."
    ),
    human: Path = typer.Option(..., "--human", help="Human labels JSONL (e.g. `assay human export`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Agreement of the judge with human labels (accuracy, Cohen's kappa) and the judge's biases."""
    from assay.judge.quality import agreement, read_rows

    report = agreement(read_rows(judgments), read_rows(human))
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
        return
    table = Table(title=f"judge vs human ({report.mode}, {report.n_items} items)")
    table.add_column("figure")
    table.add_column("value")
    figures = {"accuracy": report.accuracy, "cohen_kappa": report.kappa, **report.extra}
    for name, value in figures.items():
        table.add_row(name, f"{value:.3f}")
    console.print(table)
    if report.n_judge_unscored or report.n_missing:
        console_err.print(
            f"left out: {report.n_judge_unscored} unscored by the judge, "
            f"{report.n_missing} without a judge row"
        )


@judge_app.command("bias")
def bias_cmd(
    judgments: Path = typer.Argument(
        ..., help="Judgments JSONL (from `assay judge mtbench` or `judge items`)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """A judge's position bias (pairwise, from the two orders) and length bias, without human labels."""
    from assay.judge.quality import judge_bias, read_rows

    figures = judge_bias(read_rows(judgments))
    if as_json:
        typer.echo(json.dumps(figures, indent=2))
        return
    table = Table(title=f"judge bias ({judgments.name})")
    table.add_column("figure")
    table.add_column("value")
    for name, value in figures.items():
        table.add_row(name, f"{value:.3f}")
    console.print(table)
    if not figures:
        console_err.print("too few scored judgments to measure a bias")


def register(app: typer.Typer) -> None:
    """Add the `judge` command group to the assay CLI."""
    app.add_typer(judge_app, name="judge")
