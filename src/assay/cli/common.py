"""Helpers shared by the command modules: consoles and parsing of repeated key=value options."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from assay.errors import UsageError


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


def parse_kv(text: str | None) -> dict[str, Any]:
    """Parse `a=1,b=x,c=true` (lm-evaluation-harness's --model_args form) into typed values."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise UsageError(f"model argument {part!r} is not of the form key=value", hint="e.g. dtype=float32")
        key, value = part.split("=", 1)
        out[key.strip()] = coerce(value.strip())
    return out


def coerce(value: str) -> Any:
    """'true' -> True, '3' -> 3, '0.5' -> 0.5, anything else stays a string."""
    low = value.lower()
    if low in {"true", "false"}:
        return low == "true"
    if low in {"none", "null"}:
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
