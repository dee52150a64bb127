"""One way to print a table in any terminal width without breaking a word inside.

rich shrinks a table that is wider than the terminal by folding cells at any character (`hell/aswa/g`). Here
every column is at least as wide as its longest word, and cells wrap at spaces only. When even that is too wide,
run ids are shortened to a unique suffix and paths to a unique tail (`…/step-1200/merged`); when it still does
not fit, the table is printed as records, one block per row (label, value), where each value has nearly the
whole width. Used by every command that prints a table (compare, dvc diff, tasks, run, gate, the leaderboard).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.console import Console
from rich.table import Table
from rich.text import Text

Cell = str | tuple[str, str]  # text, or (text, style)
Kind = Literal["text", "id", "path"]
MIN_SUFFIX = 6  # run ids end in 6 random hex digits: the shortest suffix shown
ELLIPSIS = "…"


@dataclass(frozen=True)
class Col:
    """A column: its header, whether numbers align right, and what its cells are (ids and paths may shorten)."""

    header: str
    right: bool = False
    kind: Kind = "text"


def longest_word(texts: Sequence[str]) -> int:
    """The length of the longest whitespace-separated word of any text (0 for none)."""
    return max((len(word) for text in texts for word in text.split()), default=0)


def unique_suffixes(ids: Sequence[str], least: int = MIN_SUFFIX) -> dict[str, str]:
    """The shortest suffix (at least `least` characters) that tells each id apart from the others."""
    distinct = sorted(set(ids))
    for size in range(least, max((len(i) for i in distinct), default=0) + 1):
        tails = {i: i[-size:] for i in distinct}
        if len(set(tails.values())) == len(distinct):
            return tails
    return {i: i for i in distinct}


def unique_tails(paths: Sequence[str]) -> dict[str, str]:
    """Each path as its fewest last components that tell it apart from the others (`…/step-1200/merged`);
    a text that is not a path (no `/`, or a space in it) stays whole."""
    distinct = sorted({p for p in paths if "/" in p.strip("/") and " " not in p})
    out = {p: p for p in paths}
    for path in distinct:
        parts = path.rstrip("/").split("/")
        for size in range(1, len(parts)):
            tail = "/".join(parts[-size:])
            others = [o for o in distinct if o != path]
            if not any(o.rstrip("/").endswith("/" + tail) or o.rstrip("/") == tail for o in others):
                out[path] = f"{ELLIPSIS}/{tail}"
                break
    return out


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _frame(widths: Sequence[int]) -> int:
    return sum(w + 3 for w in widths) + 1  # padding 1 + 1 and one border per column, plus the last


def _shorten(cols: Sequence[Col], rows: Sequence[Sequence[Cell]]) -> list[list[Cell]]:
    """Rows with run ids as unique suffixes and paths as unique tails."""
    out = [list(row) for row in rows]
    for index, col in enumerate(cols):
        values = [_text(row[index]) for row in rows]
        if col.kind == "id":
            short = unique_suffixes([v for v in values if v])
        elif col.kind == "path":
            short = unique_tails(values)
        else:
            continue
        for row in out:
            cell = row[index]
            text = short.get(_text(cell), _text(cell))
            row[index] = text if isinstance(cell, str) else (text, cell[1])
    return out


def _legend(cols: Sequence[Col], before: Sequence[Sequence[Cell]], after: Sequence[Sequence[Cell]]) -> str:
    """What each shortened path stands for ("…/merged = /ckpt/step-1200/merged"), or "" (ids need none)."""
    pairs = {
        (_text(new[i]), _text(old[i]))
        for old, new in zip(before, after, strict=True)
        for i, col in enumerate(cols)
        if col.kind == "path" and _text(new[i]) != _text(old[i])
    }
    return "\n".join(f"{short} = {full}" for short, full in sorted(pairs))


def column_widths(cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int) -> list[int] | None:
    """Widths that fit `width` with no word broken (the natural widths when they fit), or None."""
    texts = [[col.header, *(_text(row[i]) for row in rows)] for i, col in enumerate(cols)]
    natural = [max(len(line) for text in column for line in text.splitlines() or [""]) for column in texts]
    if _frame(natural) <= width:
        return natural
    least = [max(1, longest_word(column)) for column in texts]
    room = width - _frame(least)
    if room < 0:
        return None
    widths = list(least)
    # the columns that need least to be whole first (short headers, numbers), then the rest share what is left
    order = sorted(range(len(cols)), key=lambda i: natural[i] - least[i])
    for position, i in enumerate(order):
        wanted = natural[i] - widths[i]
        if wanted > room:
            rest = order[position:]
            total = sum(natural[j] - widths[j] for j in rest) or 1
            for j in rest:
                widths[j] += room * (natural[j] - widths[j]) // total
            break
        widths[i] += wanted
        room -= wanted
    return widths


def build_table(
    cols: Sequence[Col], rows: Sequence[Sequence[Cell]], widths: Sequence[int], title: str | None = None
) -> Table:
    """A rich table with these column widths (cells wrap at spaces; no word is longer than its column)."""
    table = Table(title=title, title_justify="left")
    for col, w in zip(cols, widths, strict=True):
        table.add_column(Text(col.header), justify="right" if col.right else "left", width=w, overflow="fold")
    for row in rows:
        table.add_row(*(Text(c) if isinstance(c, str) else Text(c[0], style=c[1]) for c in row))
    return table


def _records(cols: Sequence[Col], rows: Sequence[Sequence[Cell]], width: int) -> list[Text]:
    """One block per row: `header value` pairs packed into lines of `width`, a pair never split unless it is
    longer than a line (then it wraps at its spaces)."""
    blocks = []
    for number, row in enumerate(rows, start=1):
        lead = f"[{number}/{len(rows)}] "
        indent = " " * len(lead)
        block, used = Text(lead, style="bold"), len(lead)
        for col, cell in zip(cols, row, strict=True):
            value = _text(cell)
            if not value:
                continue
            size = len(col.header) + 1 + len(value)
            if used > len(lead) and used + 3 + size > width:
                block.append("\n" + indent)
                used = len(indent)
            elif used > len(lead):
                block.append("   ")
                used += 3
            block.append(col.header, style="dim")
            block.append(" ")
            block.append(value, style=None if isinstance(cell, str) else cell[1])
            used += size
        blocks.append(block)
    return blocks


def print_table(
    console: Console,
    cols: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    *,
    title: str | None = None,
    caption: str | None = None,
    width: int | None = None,
) -> None:
    """Print a table at the console's width (or `width`) with no word broken: as it is when it fits, then
    with ids and paths shortened, then as one block per row."""
    width = width or console.width
    if title:
        console.print(Text(title, style="italic"), soft_wrap=False, width=width)
    widths = column_widths(cols, rows, width)
    legend = ""
    if widths is None:
        short = _shorten(cols, rows)
        widths = column_widths(cols, short, width)
        if widths is not None:
            legend = _legend(cols, rows, short)
            rows = short
    if widths is not None:
        console.print(build_table(cols, rows, widths), soft_wrap=False, width=width)
        if legend:
            console.print(Text(legend, style="dim"), soft_wrap=False, width=width)
    else:
        console.print(Text(f"(one block per row: the table is wider than {width} columns)", style="dim"))
        for block in _records(cols, rows, width):
            console.print(block, soft_wrap=False, width=width)
    if caption:
        console.print(Text(caption, style="dim"), soft_wrap=False, width=width)
