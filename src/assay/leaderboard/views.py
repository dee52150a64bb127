"""Views over leaderboard rows: filter, keep the latest, pivot wide (model x benchmark), history, sort.

Pure functions of lists of LeaderboardRow; the CLI, the plots and the HTML report all use them, so every
surface shows the same numbers for the same filters.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

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

    def mean_columns(self, metric: str) -> tuple[str, ...]:
        """The columns a mean of `metric` is taken over: every column of the table that reports it."""
        return tuple(c for c in self.columns if any(c in r.cells and r.cells[c].metric == metric for r in self.rows))

    def mean(self, row: WideRow, metric: str) -> float | None:
        """The mean of `metric` over all of `mean_columns(metric)`, or None when the row lacks any of them: a
        mean over 2 tasks is never ranked against a mean over 4 (nor pass@1 averaged with acc)."""
        cells = [row.cells.get(c) for c in self.mean_columns(metric)]
        if not cells or any(c is None or c.metric != metric for c in cells):
            return None
        return sum(c.score for c in cells if c is not None) / len(cells)

    def without_mean(self, metric: str) -> int:
        """How many rows get no mean of `metric` (they lack one of its columns)."""
        return sum(1 for r in self.rows if self.mean(r, metric) is None)


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
            return table.mean(row, column[len("mean ") :])
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


def _identity(row: LeaderboardRow) -> str:
    """What makes two rows the same model: the fingerprint of its files when recorded, else its name."""
    return row.model_fingerprint or f"name:{row.model}"


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name


def unify_models(rows: Sequence[LeaderboardRow]) -> tuple[list[LeaderboardRow], dict[str, list[str]]]:
    """One name per model fingerprint: a model evaluated as an alias (`smollm2-135m`) and as its folder path has
    the same fingerprint, and is shown under one name (the one that is not a path, else the shortest path). Two
    names that are both not paths (e.g. two display names given on purpose) stay apart. Returns
    the rows renamed and {shown name: [the other names it was recorded under]}."""
    names: dict[str, set[str]] = {}
    for row in rows:
        if row.model_fingerprint:
            names.setdefault(row.model_fingerprint, set()).add(row.model)
    chosen: dict[str, str] = {}
    also: dict[str, list[str]] = {}
    for fingerprint, group in names.items():
        # two plain names (two aliases) are left apart: only paths are merged into the one name they are
        if len(group) > 1 and sum(1 for n in group if not _is_path(n)) <= 1:
            shown = min(group, key=lambda n: ("/" in n, len(n), n))
            chosen[fingerprint] = shown
            also[shown] = sorted(group - {shown})
    renamed = [replace(r, model=chosen[r.model_fingerprint]) if r.model_fingerprint in chosen else r for r in rows]
    return renamed, also


def drop_repeats(rows: Sequence[LeaderboardRow]) -> tuple[list[LeaderboardRow], dict[str, str]]:
    """Keep one copy of repeated results: a row appended twice (the same import, twice), and a run whose rows
    for a model repeat an earlier run's exactly (same model files, benchmarks, data, n and scores: the same
    command run again). Returns the rows kept and {repeating run id: the earlier run id it repeats}."""
    unique = list(dict.fromkeys(rows))
    runs: dict[tuple[str, str], list[LeaderboardRow]] = {}
    for row in unique:
        runs.setdefault((row.run_id, _identity(row)), []).append(row)
    first: dict[tuple[str, frozenset[tuple[object, ...]]], str] = {}
    repeats: dict[str, str] = {}
    dropped: set[tuple[str, str]] = set()
    for (run_id, identity), mine in sorted(runs.items(), key=lambda kv: (min(r.eval_date for r in kv[1]), kv[0])):
        results = frozenset((r.benchmark, r.metric, r.dataset, r.dataset_sha256, r.n, r.score, r.stderr) for r in mine)
        earlier = first.setdefault((identity, results), run_id)
        if earlier != run_id:
            repeats[run_id] = earlier
            dropped.add((run_id, identity))
    return [r for r in unique if (r.run_id, _identity(r)) not in dropped], repeats
