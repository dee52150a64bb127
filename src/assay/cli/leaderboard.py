"""`assay leaderboard show|history|import|plot`: views over data/leaderboard.csv."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from assay.cli._fit import Column, fit
from assay.cli.common import console, console_err, styled
from assay.leaderboard.store import DEFAULT_LEADERBOARD, LeaderboardRow, Problem, append_rows, read_rows
from assay.leaderboard.views import WideRow, WideTable

LEADERBOARD_OPT = typer.Option(DEFAULT_LEADERBOARD, "--leaderboard", "-l", help="The leaderboard CSV file.")


def _date(stamp: str) -> str:
    """ISO date and minutes: enough to tell runs apart, short enough for an 80-column CI log."""
    return stamp[:16].replace("T", " ")


def _short_dates(rows: Sequence[LeaderboardRow | WideRow]) -> tuple[str, ...] | None:
    """Month, day and time when every date is of one year (for a narrow terminal), else None."""
    dates = [_date(r.eval_date) for r in rows]
    return tuple(d[5:] for d in dates) if len({d[:4] for d in dates}) == 1 else None


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


def _width(wide: bool) -> int | None:
    """The terminal's width, or None (no limit) with --wide."""
    return None if wide else console.width


def _print(tables: Sequence[Table | Text], wide: bool) -> None:
    for table in tables:
        if isinstance(table, Table):
            console.print(table, crop=not wide, width=table.width if wide else None)
        else:
            console.print(table, soft_wrap=False)  # what a shortened name stands for, wrapped at spaces


def _long_table(rows: Sequence[LeaderboardRow], title: str, width: int | None) -> list[Table | Text]:
    def cells(name: str) -> tuple[str, ...]:
        return tuple(str(getattr(r, name)) for r in rows)

    return fit(
        [
            Column("model", cells("model"), key=True, wrap=True),
            Column("benchmark", cells("benchmark"), key=True, wrap=True),
            Column("metric", cells("metric"), key=True, wrap=True),
            Column("score", tuple(_fmt(r.score) for r in rows), right=True),
            Column("stderr", tuple(_fmt(r.stderr) for r in rows), right=True),
            Column("n", cells("n"), right=True),
            Column("eval_date", tuple(_date(r.eval_date) for r in rows), short=_short_dates(rows)),
            Column("run_id", cells("run_id"), run_ids=True),
        ],
        title,
        width,
    )


def _wide_table(table: WideTable, source: str, *, with_runs: bool, width: int | None) -> list[Table | Text]:
    rows = table.rows
    columns = [Column("model", tuple(r.model for r in rows), key=True, wrap=True)]
    if with_runs:
        columns.append(Column("run_id", tuple(r.run_id for r in rows), key=True, run_ids=True))
    columns.append(Column("eval_date", tuple(_date(r.eval_date) for r in rows), key=True, short=_short_dates(rows)))
    for name in table.columns:
        metric = next(iter(r.cells[name].metric for r in rows if name in r.cells), "")
        dim = "" if "/" in name else metric
        columns.append(Column(name, tuple(_fmt(r.score(name)) for r in rows), right=True, dim_header=dim))
    for metric in table.metrics:  # one mean per metric, over one task set: like is compared with like
        columns.append(Column("mean", tuple(_fmt(table.mean(r, metric)) for r in rows), right=True, dim_header=metric))
    title = source + (" (one row per run)" if with_runs else " (latest per model)")
    return fit(columns, title, width)


def _mean_notes(table: WideTable, with_runs: bool) -> list[str]:
    """What each mean column is over, and which rows it leaves out (so the ranking compares like with like)."""
    notes = []
    what = "runs" if with_runs else "models"
    for metric in table.metrics:
        over = table.mean_columns(metric)
        note = f"mean {metric}: over all {len(over)} benchmarks reporting it ({', '.join(over)})"
        missing = table.without_mean(metric)
        if missing:
            note += (f"; {missing} of {len(table.rows)} {what} lack some of them and get no mean (ranked last): "
                     "compare them on a shared set with --task")  # fmt: skip
        notes.append(note)
    return notes


def _notes(also: dict[str, list[str]], repeats: dict[str, str]) -> list[str]:
    """Say which names were merged (one fingerprint) and which runs were shown once (repeated results)."""
    notes = [f"{shown} is also recorded as {', '.join(others)} (the same model files): shown as one model"
             for shown, others in sorted(also.items())]  # fmt: skip
    if repeats:
        pairs = ", ".join(f"{run} repeats {earlier}" for run, earlier in sorted(repeats.items()))
        notes.append(f"{len(repeats)} run(s) repeat an earlier run's results exactly (same model files, data and "
                     f"scores) and are shown once: {pairs}; --repeats shows them")  # fmt: skip
    return notes


def _print_notes(notes: Sequence[str]) -> None:
    for note in notes:
        console.print(note, style="dim", soft_wrap=False)


def _as_json(table: WideTable) -> str:
    return json.dumps(
        [
            {"model": r.model, "run_id": r.run_id, "eval_date": r.eval_date,
             "means": {m: table.mean(r, m) for m in table.metrics if table.mean(r, m) is not None},
             "scores": {name: r.score(name) for name in table.columns if name in r.cells},
             "metrics": {name: r.cells[name].metric for name in table.columns if name in r.cells}}
            for r in table.rows
        ],
        indent=2,
    )  # fmt: skip


def show(
    leaderboard: Path = LEADERBOARD_OPT,
    sort: str | None = typer.Option(
        None,
        "--sort",
        help="Column to sort by: a benchmark, mean (of the main metric), 'mean METRIC', model, eval_date "
        "(long form: any CSV column).",
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
    wide: bool = typer.Option(False, "--wide", help="One table with every column and full run ids, however wide."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON (everything, untruncated)."),
    repeats: bool = typer.Option(
        False, "--repeats", help="Also show runs whose results repeat an earlier run's exactly (shown once by default)."
    ),
) -> None:
    """Print the leaderboard: one row per model (per run unless --latest), a column per benchmark.

    A mean column averages one metric over all the benchmarks that report it; a run lacking any of them gets
    no mean, so a mean over 2 tasks is never ranked against one over 4. A model recorded under an alias and
    under its folder path (the same fingerprint) is one model; a run repeating an earlier one's results
    exactly is shown once.
    """
    from assay.leaderboard import views

    rows, notes = _prepared(_load(leaderboard), repeats)
    rows = views.filter_rows(rows, tasks=task, metrics=metric, models=model)
    if long:
        if only_latest:
            rows = views.latest(rows)
        if as_json:
            typer.echo(json.dumps([dataclasses.asdict(r) for r in views.sort_long(rows, sort, desc=desc)], indent=2))
            return
        title = f"{leaderboard} ({len(rows)} rows)"
        _print(_long_table(views.sort_long(rows, sort, desc=desc), title, _width(wide)), wide)
        _print_notes(notes)
        return
    hidden: list[str] = []
    if not subtasks and not task:
        rows, hidden = views.collapse_subtasks(rows)
    table = views.sort_wide(views.wide(rows, metrics=metric, by_run=not only_latest), sort, desc=desc)
    if as_json:
        typer.echo(_as_json(table))
        return
    _print(_wide_table(table, f"{leaderboard}", with_runs=not only_latest, width=_width(wide)), wide)
    _print_notes(_mean_notes(table, not only_latest) + notes)
    if hidden:
        console.print(f"{len(hidden)} subtask column(s) of groups hidden; --subtasks shows them", style="dim")


def _prepared(rows: list[LeaderboardRow], repeats: bool) -> tuple[list[LeaderboardRow], list[str]]:
    """The rows as the views show them (one name per fingerprint, repeated runs once) and what was merged."""
    from assay.leaderboard import views

    rows, also = views.unify_models(rows)
    repeated: dict[str, str] = {}
    if not repeats:
        rows, repeated = views.drop_repeats(rows)
    return rows, _notes(also, repeated)


def history(
    model: str = typer.Argument(..., help="Model name as it appears in the leaderboard."),
    leaderboard: Path = LEADERBOARD_OPT,
    task: list[str] = typer.Option([], "--task", "-t", help="Only these benchmarks."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Only these metrics."),
    wide: bool = typer.Option(False, "--wide", help="One table with full run ids, however wide."),
    repeats: bool = typer.Option(False, "--repeats", help="Also show runs that repeat an earlier run's results."),
) -> None:
    """List one model's scores over time, oldest first (a model under an alias or its folder path alike)."""
    from assay.leaderboard import views

    loaded = _load(leaderboard)
    rows, notes = _prepared(loaded, repeats)
    merged = views.unify_models(loaded)[1]  # asked by a name merged into another (the same fingerprint)?
    model = next((shown for shown, others in merged.items() if model in others), model)
    rows = views.filter_rows(views.history(rows, model), tasks=task, metrics=metric)
    _print(_long_table(rows, f"history of {model} ({len(rows)} rows)", _width(wide)), wide)
    _print_notes(notes)


def import_results(
    results: list[Path] = typer.Argument(..., help="lm-evaluation-harness results_<date>.json file(s)."),
    leaderboard: Path = LEADERBOARD_OPT,
    model: str | None = typer.Option(
        None, "--model", help="Model name to record (default: from model_args)."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the rows, append nothing."),
    keep_duplicates: bool = typer.Option(
        False, "--keep-duplicates", help="Append results already in the leaderboard again (skipped by default)."
    ),
) -> None:
    """Import lm-evaluation-harness results JSON into the leaderboard (one locked append per file).

    Results already there (the same file imported before: its run id is a hash of its content) are skipped
    with a notice, unless --keep-duplicates.
    """
    from assay.leaderboard.lmeval_import import read_lmeval_file

    # parse every file before appending any, so a bad file leaves the leaderboard untouched
    parsed = [(path, read_lmeval_file(path, model=model)) for path in results]
    present = {r.run_id for r in _load(leaderboard)} if leaderboard.exists() else set()
    for path, rows in parsed:
        if dry_run:
            _print(_long_table(rows, f"{path} (dry run: nothing appended)", _width(False)), False)
            continue
        if rows[0].run_id in present and not keep_duplicates:
            console.print(
                f"skipped {path}: its results are already in {leaderboard} (run id {rows[0].run_id}); "
                "--keep-duplicates appends them again",
                soft_wrap=False,
            )
            continue
        count = append_rows(rows, leaderboard)
        present.add(rows[0].run_id)
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
