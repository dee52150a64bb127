"""Tables that fit the terminal without cutting a name: when a table is too wide, run ids are shortened to their
shortest unique suffix, then the value columns are split over several tables that each repeat the key columns
(model, run, date), as pandas wraps a wide frame. No word is broken inside: a name column is at least as wide
as its longest word (a model given as a folder shows its unique tail, `…/step-1200/merged`, only when the key
columns could not fit otherwise). `fit(..., width=None)` gives one table however wide (`--wide`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from rich.table import Table
from rich.text import Text

from assay.cli._table import longest_word, unique_suffixes, unique_tails


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
            column = replace(column, limit=max(12, width // 3, longest_word([column.header, *column.cells])))
        if column.short is not None:
            column = replace(column, cells=column.short)
        out.append(column)
    keys = [c for c in out if c.key]
    widest = max((c.width + 3 for c in out if not c.key), default=0)
    if _table_width(keys) > width // 2 or _table_width(keys) + widest > width:  # little room for the values:
        out = [_tails(c) if c.wrap else c for c in out]
    return out


def _tails(column: Column) -> Column:  # paths by their unique tails (the table's caption says which is which)
    tails = unique_tails(column.cells)
    shorter = replace(column, cells=tuple(tails[c] for c in column.cells), limit=None)
    return replace(shorter, limit=max(12, longest_word([shorter.header, *shorter.cells])))


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


def fit(columns: Sequence[Column], title: str, width: int | None) -> list[Table | Text]:
    """The tables to print for `columns` at `width` characters (None: one table, any width), then one line
    per name shown shortened, saying what it stands for."""
    columns = original = list(columns)
    if width is not None and _table_width(columns) > width:
        columns = _shortened(columns, width)
    legend = _legend(original, columns)
    parts = [columns] if width is None or _table_width(columns) <= width else _parts(columns, width)
    tables: list[Table | Text] = []
    for number, part in enumerate(parts, start=1):
        suffix = f" [{number}/{len(parts)}]" if len(parts) > 1 else ""
        table = _render(part, title + suffix)
        if width is None:
            table.width = _table_width(part)  # printed at this width, however narrow the terminal
        tables.append(table)
    return tables + [Text(line, style="dim") for line in legend]


def _legend(before: Sequence[Column], after: Sequence[Column]) -> list[str]:
    """What each shortened name stands for ("…/merged = /ckpt/step-1200/merged")."""
    pairs = {
        (short, full)
        for old, new in zip(before, after, strict=True)
        if old.wrap
        for full, short in zip(old.cells, new.cells, strict=True)
        if short != full
    }
    return [f"{short} = {full}" for short, full in sorted(pairs)]


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
