"""Helpers shared by the command modules: consoles, styled text, and key=value options (assay.keyvalues)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from assay.keyvalues import parse_kv as parse_kv  # the command modules import it from here


class _Console(Console):
    """A console whose tables fold a cell that does not fit onto more lines instead of cutting it with "…"
    (a task, model or dataset name stays whole in an 80-column terminal)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        for table in objects:
            if isinstance(table, Table):
                for column in table.columns:
                    if column.overflow == "ellipsis":
                        column.overflow = "fold"
        super().print(*objects, **kwargs)


# markup and emoji codes off: user text (file names like `samples[red].jsonl`, templates) prints as it is;
# styles are given as rich Text / style= arguments instead
console = _Console(markup=False, emoji=False, soft_wrap=True)  # long paths and commands stay one line
console_err = _Console(stderr=True, markup=False, emoji=False, soft_wrap=True)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Literal text with styled pieces: styled(("warning:", "yellow"), " ", user_text)."""
    return Text.assemble(*parts)
