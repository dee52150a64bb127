"""Views over leaderboard rows: filter, keep the latest, pivot wide (model x benchmark), history, sort.

Pure functions of lists of LeaderboardRow; the CLI, the plots and the HTML report all use them, so every
surface shows the same numbers for the same filters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assay.errors import UsageError, did_you_mean
from assay.leaderboard.store import COLUMNS, LeaderboardRow

# metrics tried first when a benchmark has several and the user named none (as lm-eval's tables lead with acc)
PREFERRED_METRICS = ("acc", "pass@1", "exact_match", "acc_norm")


@dataclass(frozen=True)
class WideRow:
    """One line of the wide table: a model (and, without --latest, one run of it) with a score per column."""

    model: str
    run_id: str  # "" when cells come from several runs (the latest of each)
    eval_date: str
    cells: dict[str, LeaderboardRow] = field(default_factory=dict)  # column -> the row shown there

    def score(self, column: str) -> float | None:
        row = self.cells.get(column)
        return None if row is None else row.score


    def mean_of(self, metric: str) -> float | None:
        """Mean over the cells that report `metric` (never across metrics: pass@1 and acc do not average)."""
        values = [r.score for r in self.cells.values() if r.metric == metric]
        return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class WideTable:
    columns: tuple[str, ...]  # "benchmark" or "benchmark/metric" when several metrics are shown
    rows: tuple[WideRow, ...]

    @property
    def metrics(self) -> tuple[str, ...]:
        """The metrics of two or more columns, most columns first: one mean column each (a metric of a single
        column would only repeat it; different metrics are never averaged together)."""
        count: dict[str, int] = {}
        for column in self.columns:
            used = {row.cells[column].metric for row in self.rows if column in row.cells}
            for metric in used:
                count[metric] = count.get(metric, 0) + 1
        return tuple(sorted((m for m in count if count[m] > 1), key=lambda m: (-count[m], m)))


def _split(values: Iterable[str] | None) -> list[str]:
    """Accept repeated options and comma-separated lists alike."""
    out: list[str] = []
    for value in values or ():
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def filter_rows(
    rows: Sequence[LeaderboardRow],
    *,
    tasks: Iterable[str] | None = None,
    metrics: Iterable[str] | None = None,
    models: Iterable[str] | None = None,
) -> list[LeaderboardRow]:
    """Rows whose benchmark, metric and model are among the given ones; an unknown name is a usage error."""
    out = list(rows)
    for attr, wanted, what in (
        ("benchmark", _split(tasks), "task"),
        ("metric", _split(metrics), "metric"),
        ("model", _split(models), "model"),
    ):
        if not wanted:
            continue
        known = sorted({getattr(r, attr) for r in out})
        for name in wanted:
            if name not in known:
                raise UsageError(
                    f"no leaderboard rows for {what} {name!r}",
                    hint=did_you_mean(name, known) or f"known: {', '.join(known) or '(none)'}",
                )
        out = [r for r in out if getattr(r, attr) in wanted]
    return out


def latest(rows: Sequence[LeaderboardRow]) -> list[LeaderboardRow]:
    """Keep the newest row of each model x benchmark x metric (ties broken by run id, which sorts by time)."""
    best: dict[tuple[str, str, str], LeaderboardRow] = {}
    for row in rows:
        key = (row.model, row.benchmark, row.metric)
        cur = best.get(key)
        if cur is None or (row.eval_date, row.run_id) >= (cur.eval_date, cur.run_id):
            best[key] = row
    return list(best.values())


def primary_metrics(rows: Sequence[LeaderboardRow]) -> dict[str, str]:
    """The metric shown for each benchmark in the wide table when the user did not pick one."""
    by_task: dict[str, list[str]] = {}
    for row in rows:
        seen = by_task.setdefault(row.benchmark, [])
        if row.metric not in seen:
            seen.append(row.metric)
    chosen = {}
    for task, metrics in by_task.items():
        preferred = [m for m in PREFERRED_METRICS if m in metrics]
        chosen[task] = preferred[0] if preferred else sorted(metrics)[0]
    return chosen


def wide(
    rows: Sequence[LeaderboardRow], *, metrics: Iterable[str] | None = None, by_run: bool = True
) -> WideTable:
    """Pivot to one row per model (per run when `by_run`) and one column per benchmark.

    With no metric given each benchmark shows its primary metric; with several metrics given the columns are
    "benchmark/metric". Without `by_run` a model's cells are its latest score on each benchmark.
    """
    wanted = _split(metrics)
    if wanted:
        selected = [r for r in rows if r.metric in wanted]
    else:
        primary = primary_metrics(rows)
        selected = [r for r in rows if primary[r.benchmark] == r.metric]
    if not by_run:
        selected = latest(selected)
    several = len({r.metric for r in selected}) > 1 and bool(wanted)
    groups: dict[tuple[str, str], dict[str, LeaderboardRow]] = {}
    for row in sorted(selected, key=lambda r: (r.eval_date, r.run_id)):
        column = f"{row.benchmark}/{row.metric}" if several else row.benchmark
        key = (row.model, row.run_id if by_run else "")
        groups.setdefault(key, {})[column] = row  # later rows of the same run win (re-imports)
    out = []
    for (model, run_id), cells in groups.items():
        date = max(r.eval_date for r in cells.values())
        out.append(WideRow(model=model, run_id=run_id, eval_date=date, cells=cells))
    columns = sorted({c for row in out for c in row.cells})
    return WideTable(columns=tuple(columns), rows=tuple(out))


WIDE_FIXED = ("model", "run_id", "eval_date", "mean")  # "mean": of the most used metric; "mean METRIC" too


def _none_last(value: float | str | None, desc: bool) -> tuple[int, float | str]:
    # missing values sort last in either direction
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (1, 0.0)
    if isinstance(value, float):
        return (0, -value if desc else value)
    return (0, value)


def sort_wide(table: WideTable, column: str | None, *, desc: bool = False) -> WideTable:
    """Sort wide rows by a benchmark column or model/run_id/eval_date/mean (default: mean, best first)."""
    if column is None:
        column, desc = "mean", True
    if column in {"mean", "score"}:  # "score", as in the long form: the mean of the main metric
        fallback = table.columns[0] if table.columns else "model"
        column = f"mean {table.metrics[0]}" if table.metrics else fallback
    known = list(WIDE_FIXED) + list(table.columns) + [f"mean {m}" for m in table.metrics]
    if column not in known:
        raise UsageError(
            f"cannot sort by {column!r}", hint=did_you_mean(column, known) or f"columns: {', '.join(known)}"
        )

    def value(row: WideRow) -> float | str | None:
        if column.startswith("mean "):
            return row.mean_of(column[len("mean ") :])
        if column in WIDE_FIXED:
            return str(getattr(row, column))
        return row.score(column)

    numeric = column not in {"model", "run_id", "eval_date"}
    if numeric:
        ordered = sorted(table.rows, key=lambda r: _none_last(value(r), desc))
    else:
        ordered = sorted(table.rows, key=lambda r: str(value(r)), reverse=desc)
    return WideTable(columns=table.columns, rows=tuple(ordered))


def sort_long(
    rows: Sequence[LeaderboardRow], column: str | None, *, desc: bool = False
) -> list[LeaderboardRow]:
    """Sort long-form rows by any leaderboard column (default: model, benchmark, metric, date)."""
    if column is None:
        return sorted(
            rows, key=lambda r: (r.model, r.benchmark, r.metric, r.eval_date, r.run_id), reverse=desc
        )
    if column not in COLUMNS:
        raise UsageError(
            f"cannot sort by {column!r}",
            hint=did_you_mean(column, COLUMNS) or f"columns: {', '.join(COLUMNS)}",
        )
    if column in {"score", "stderr", "n"}:
        return sorted(rows, key=lambda r: _none_last(getattr(r, column), desc))
    return sorted(rows, key=lambda r: str(getattr(r, column)), reverse=desc)


def history(rows: Sequence[LeaderboardRow], model: str) -> list[LeaderboardRow]:
    """Every row of one model, oldest first; an unknown model is a usage error with a suggestion."""
    models = sorted({r.model for r in rows})
    if model not in models:
        raise UsageError(
            f"no leaderboard rows for model {model!r}",
            hint=did_you_mean(model, models) or f"models: {', '.join(models) or '(none)'}",
        )
    mine = [r for r in rows if r.model == model]
    return sorted(mine, key=lambda r: (r.eval_date, r.run_id, r.benchmark, r.metric))


def collapse_subtasks(rows: Sequence[LeaderboardRow]) -> tuple[list[LeaderboardRow], list[str]]:
    """Drop `<group>_<name>` benchmarks of a model when its `<group>` row is there (mmlu_* under mmlu).

    The wide table would otherwise get a column per subtask (57 for MMLU). Returns the rows kept and the
    benchmark names hidden, so the caller can say what it left out.
    """
    present = {(r.model, r.benchmark) for r in rows}
    hidden: set[str] = set()
    kept = []
    for row in rows:
        parts = row.benchmark.split("_")
        groups = ("_".join(parts[:i]) for i in range(1, len(parts)))
        if any((row.model, g) in present for g in groups):
            hidden.add(row.benchmark)
        else:
            kept.append(row)
    return kept, sorted(hidden)
