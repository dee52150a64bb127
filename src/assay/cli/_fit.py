"""Tables that fit the terminal without cutting a name: when a table is too wide, run ids are shortened to their
shortest unique suffix, then the value columns are split over several tables that each repeat the key columns
(model, run, date), as pandas wraps a wide frame. Names are never truncated: a model name longer than the room
left folds onto a second line, whole. `fit(..., width=None)` gives one table however wide (`--wide`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.table import Table
from rich.text import Text

MIN_SUFFIX = 6  # run ids end in 6 random hex digits: the shortest suffix shown


@dataclass(frozen=True)
class Column:
    """One column: its header, one cell per row, and how it behaves when space is short."""

    header: str
    cells: tuple[str, ...]
    key: bool = False  # repeated in every part of a split table (model, run, date)
    right: bool = False  # right-aligned (numbers)
    wrap: bool = False  # a name: folds onto more lines (whole) rather than being cut
    run_ids: bool = False  # may be shortened to a unique suffix
    dim_header: str = ""  # a second header line shown dim (the metric under a benchmark)
    limit: int | None = None  # the most characters a wrapping column may take
    short: tuple[str, ...] | None = None  # shorter cells used when the table does not fit (dates without year)

    @property
    def width(self) -> int:
        natural = max(len(line) for line in [self.header, self.dim_header, *self.cells])
        return natural if self.limit is None else min(natural, self.limit)


def unique_suffixes(ids: Sequence[str], least: int = MIN_SUFFIX) -> dict[str, str]:
    """The shortest suffix (at least `least` characters) that tells each id apart from the others."""
    distinct = sorted(set(ids))
    for size in range(least, max((len(i) for i in distinct), default=0) + 1):
        tails = {i: i[-size:] for i in distinct}
        if len(set(tails.values())) == len(distinct):
            return tails
    return {i: i for i in distinct}


def _table_width(columns: Sequence[Column]) -> int:
    return sum(c.width + 3 for c in columns) + 1  # padding 1 + 1 and one border per column, plus the last


def _shortened(columns: Sequence[Column], width: int) -> list[Column]:
    """Run ids as unique suffixes; names limited to a third of the width (they fold, whole)."""
    out = []
    for column in columns:
        if column.run_ids:
            tails = unique_suffixes([c for c in column.cells if c])
            column = replace(column, header="run", cells=tuple(tails.get(c, c) for c in column.cells))
        if column.wrap:
            column = replace(column, limit=max(12, width // 3))
        if column.short is not None:
            column = replace(column, cells=column.short)
        out.append(column)
    return out


def _parts(columns: Sequence[Column], width: int) -> list[list[Column]]:
    """Key columns plus as many value columns as fit, repeated until every value column is shown."""
    keys = [c for c in columns if c.key]
    values = [c for c in columns if not c.key]
    parts: list[list[Column]] = []
    current: list[Column] = []
    for column in values:
        if current and _table_width(keys + current + [column]) > width:
            parts.append(current)
            current = []
        current.append(column)
    parts.append(current)
    return [keys + part for part in parts]


def fit(columns: Sequence[Column], title: str, width: int | None) -> list[Table]:
    """The tables to print for `columns` at `width` characters (None: one table, any width)."""
    columns = list(columns)
    if width is not None and _table_width(columns) > width:
        columns = _shortened(columns, width)
    parts = [columns] if width is None or _table_width(columns) <= width else _parts(columns, width)
    tables = []
    for number, part in enumerate(parts, start=1):
        suffix = f" [{number}/{len(parts)}]" if len(parts) > 1 else ""
        table = _render(part, title + suffix)
        if width is None:
            table.width = _table_width(part)  # printed at this width, however narrow the terminal
        tables.append(table)
    return tables


def _render(columns: Sequence[Column], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        header = Text(column.header)
        if column.dim_header:
            header.append("\n" + column.dim_header, style="dim")
        if column.wrap:
            table.add_column(header, overflow="fold", min_width=column.width, max_width=column.width)
        else:
            table.add_column(header, justify="right" if column.right else "left", no_wrap=True, min_width=column.width)
    for index in range(len(columns[0].cells) if columns else 0):
        table.add_row(*(Text(c.cells[index]) for c in columns))
    return table
