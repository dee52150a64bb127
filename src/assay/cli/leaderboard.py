"""`assay leaderboard show|history|import|plot`: views over data/leaderboard.csv."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table

from assay.cli.common import console, console_err, styled
from assay.leaderboard.store import DEFAULT_LEADERBOARD, LeaderboardRow, Problem, append_rows, read_rows
from assay.leaderboard.views import WideTable

LEADERBOARD_OPT = typer.Option(DEFAULT_LEADERBOARD, "--leaderboard", "-l", help="The leaderboard CSV file.")


def _date(stamp: str) -> str:
    """ISO date and minutes: enough to tell runs apart, short enough for an 80-column CI log."""
    return stamp[:16].replace("T", " ")


def _fmt(value: float | None, digits: int = 4) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _report_problems(problems: Sequence[Problem], path: Path) -> None:
    """Torn or foreign lines are shown, never dropped silently."""
    if not problems:
        return
    console_err.print(
        styled(("warning:", "yellow"), f" {len(problems)} line(s) of {path} are not valid leaderboard rows:")
    )
    for p in problems[:20]:
        console_err.print(f"  line {p.line}: {p.reason}: {p.text[:100]!r}", highlight=False)
    if len(problems) > 20:
        console_err.print(f"  ... and {len(problems) - 20} more")


def _load(path: Path) -> list[LeaderboardRow]:
    rows, problems = read_rows(path)
    _report_problems(problems, path)
    return rows


def _long_table(rows: Sequence[LeaderboardRow], title: str) -> Table:
    table = Table(title=title)
    for col in ("model", "benchmark", "metric", "score", "stderr", "n", "eval_date", "run_id"):
        table.add_column(col, justify="right" if col in {"score", "stderr", "n"} else "left")
    for r in rows:
        table.add_row(
            r.model,
            r.benchmark,
            r.metric,
            _fmt(r.score),
            _fmt(r.stderr),
            str(r.n),
            _date(r.eval_date),
            r.run_id,
        )
    return table


def _wide_table(table: WideTable, source: str, *, with_runs: bool) -> Table:
    out = Table(title=source + (" (one row per run)" if with_runs else " (latest per model)"))
    out.add_column("model")
    if with_runs:
        out.add_column("run_id")
    out.add_column("eval_date")
    for col in table.columns:
        metric = next(iter(r.cells[col].metric for r in table.rows if col in r.cells), "")
        out.add_column(col if "/" in col else styled(col, "\n", (metric, "dim")), justify="right")
    out.add_column("mean", justify="right")
    for r in table.rows:
        cells = [_fmt(r.score(c)) for c in table.columns]
        lead = [r.model] + ([r.run_id] if with_runs else []) + [_date(r.eval_date)]
        out.add_row(*lead, *cells, _fmt(r.mean))
    return out


def show(
    leaderboard: Path = LEADERBOARD_OPT,
    sort: str | None = typer.Option(
        None,
        "--sort",
        help="Column to sort by: a benchmark, mean, model, eval_date (long form: any CSV column).",
    ),
    desc: bool = typer.Option(False, "--desc", help="Sort descending."),
    task: list[str] = typer.Option(
        [], "--task", "-t", help="Only these benchmarks (repeat or comma-separate)."
    ),
    metric: list[str] = typer.Option(
        [], "--metric", "-m", help="Only these metrics (default: one per benchmark)."
    ),
    model: list[str] = typer.Option([], "--model", help="Only these models."),
    only_latest: bool = typer.Option(False, "--latest", help="Only each model's latest score per benchmark."),
    long: bool = typer.Option(False, "--long", help="One line per model x benchmark x metric."),
    subtasks: bool = typer.Option(False, "--subtasks", help="Wide form: also show subtasks of groups."),
) -> None:
    """Print the leaderboard: one row per model (per run unless --latest), a column per benchmark."""
    from assay.leaderboard import views

    rows = views.filter_rows(_load(leaderboard), tasks=task, metrics=metric, models=model)
    if long:
        if only_latest:
            rows = views.latest(rows)
        console.print(
            _long_table(views.sort_long(rows, sort, desc=desc), f"{leaderboard} ({len(rows)} rows)")
        )
        return
    hidden: list[str] = []
    if not subtasks and not task:
        rows, hidden = views.collapse_subtasks(rows)
    table = views.sort_wide(views.wide(rows, metrics=metric, by_run=not only_latest), sort, desc=desc)
    console.print(_wide_table(table, f"{leaderboard}", with_runs=not only_latest))
    if hidden:
        console.print(f"{len(hidden)} subtask column(s) of groups hidden; --subtasks shows them", style="dim")


def history(
    model: str = typer.Argument(..., help="Model name as it appears in the leaderboard."),
    leaderboard: Path = LEADERBOARD_OPT,
    task: list[str] = typer.Option([], "--task", "-t", help="Only these benchmarks."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Only these metrics."),
) -> None:
    """List one model's scores over time, oldest first."""
    from assay.leaderboard import views

    rows = views.history(_load(leaderboard), model)
    rows = views.filter_rows(rows, tasks=task, metrics=metric)
    console.print(_long_table(rows, f"history of {model} ({len(rows)} rows)"))


def import_results(
    results: list[Path] = typer.Argument(..., help="lm-evaluation-harness results_<date>.json file(s)."),
    leaderboard: Path = LEADERBOARD_OPT,
    model: str | None = typer.Option(
        None, "--model", help="Model name to record (default: from model_args)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rows, append nothing."),
) -> None:
    """Import lm-evaluation-harness results JSON into the leaderboard (one locked append per file)."""
    from assay.leaderboard.lmeval_import import read_lmeval_file

    # parse every file before appending any, so a bad file leaves the leaderboard untouched
    parsed = [(path, read_lmeval_file(path, model=model)) for path in results]
    for path, rows in parsed:
        if dry_run:
            console.print(_long_table(rows, f"{path} (dry run: nothing appended)"))
            continue
        count = append_rows(rows, leaderboard)
        console.print(f"imported {count} rows from {path} into {leaderboard} (run id {rows[0].run_id})")


def plot(
    output: Path = typer.Option(Path("plots"), "--output", "-o", help="Folder for the PNG files."),
    leaderboard: Path = LEADERBOARD_OPT,
    task: list[str] = typer.Option([], "--task", "-t", help="Only these benchmarks."),
    model: list[str] = typer.Option([], "--model", help="Only these models."),
) -> None:
    """Write PNG plots: score over time per benchmark, and a model x benchmark heatmap and bar chart."""
    from assay.leaderboard import views
    from assay.leaderboard.plots import plot_all

    rows = views.filter_rows(_load(leaderboard), tasks=task, models=model)
    for path in plot_all(rows, output):
        console.print(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add the `leaderboard` command group."""
    group = typer.Typer(
        help="Show, import and plot the leaderboard (data/leaderboard.csv).", no_args_is_help=True
    )
    group.command("show")(show)
    group.command("history")(history)
    group.command("import")(import_results)
    group.command("plot")(plot)
    app.add_typer(group, name="leaderboard")
