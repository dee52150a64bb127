"""The ITEMS.jsonl contract: what annotators are shown, one JSON object per line.

Single mode (rate one response 1-10)::

    {"item_id": "q1-smollm", "prompt": "What is 2+2?", "response": "4", "model": "smollm2-135m"}

Pairwise mode (which of two responses is better, or a tie)::

    {"item_id": "q1", "prompt": "What is 2+2?", "response_a": "4", "response_b": "5",
     "model_a": "smollm2-135m", "model_b": "gemma-270m"}

All fields are non-empty strings except the responses, which may be empty (a model may answer nothing).
`item_id` is unique within the file. Blank lines are ignored; unknown keys are an error (a typo such as
"reponse" must not silently show an empty answer). Model names are never shown to annotators.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from assay.data.sources import json_lines, read_text
from assay.errors import DataError, UsageError

Mode = Literal["single", "pairwise"]
MODES: tuple[Mode, ...] = ("single", "pairwise")

# required keys per mode, and which of them may be the empty string
FIELDS: dict[str, tuple[str, ...]] = {
    "single": ("item_id", "prompt", "response", "model"),
    "pairwise": ("item_id", "prompt", "response_a", "response_b", "model_a", "model_b"),
}
MAY_BE_EMPTY = frozenset({"response", "response_a", "response_b"})
MAX_ITEM_ID = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class Item:
    """One thing to rate. Single mode fills `response`/`model`; pairwise fills the `_a`/`_b` fields."""

    item_id: str
    prompt: str
    response: str = ""
    model: str = ""
    response_a: str = ""
    response_b: str = ""
    model_a: str = ""
    model_b: str = ""

    def to_json(self, mode: Mode) -> dict[str, str]:
        """The item as an ITEMS.jsonl row of `mode` (only that mode's keys)."""
        data = asdict(self)
        return {key: data[key] for key in FIELDS[mode]}


def check_mode(mode: str) -> Mode:
    """Return `mode` if it is a known mode, else raise UsageError."""
    if mode not in MODES:
        raise UsageError(f"unknown mode {mode!r}", hint="use --mode single or --mode pairwise")
    return mode  # type: ignore[return-value]


def parse_row(row: Any, mode: Mode, where: str) -> Item:
    """Validate one decoded JSON row of `mode`; `where` ("file:line") prefixes every error."""
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    wanted = FIELDS[mode]
    missing = [key for key in wanted if key not in row]
    if missing:
        other: Mode = "pairwise" if mode == "single" else "single"
        looks_other = set(FIELDS[other]) <= row.keys()
        hint = f"this looks like a {other} item: use --mode {other}" if looks_other else None
        raise DataError(f"{where}: missing key(s) {', '.join(missing)} for {mode} mode", hint=hint)
    unknown = sorted(set(row) - set(wanted))
    if unknown:
        raise DataError(
            f"{where}: unknown key(s) {', '.join(unknown)} for {mode} mode",
            hint=f"{mode} items have exactly: {', '.join(wanted)}",
        )
    for key in wanted:
        value = row[key]
        if not isinstance(value, str):
            raise DataError(f"{where}: {key!r} must be a string, got {type(value).__name__}")
        if key not in MAY_BE_EMPTY and not value.strip():
            raise DataError(f"{where}: {key!r} is empty")
    if len(row["item_id"]) > MAX_ITEM_ID:
        raise DataError(f"{where}: item_id is longer than {MAX_ITEM_ID} characters")
    if mode == "pairwise" and row["model_a"] == row["model_b"]:
        raise DataError(
            f"{where}: model_a and model_b are both {row['model_a']!r}",
            hint="a pair compares two different models",
        )
    return Item(**row)


def load_items(path: Path, mode: Mode) -> tuple[Item, ...]:
    """Read and validate ITEMS.jsonl; any problem is a DataError naming the file and line."""
    if not path.is_file():
        raise DataError(f"items file {path} does not exist", hint="pass a JSONL file with one item per line")
    items: list[Item] = []
    first_seen: dict[str, str] = {}
    for where, row in json_lines(read_text(path), str(path)):
        item = parse_row(row, mode, where)
        if item.item_id in first_seen:
            first = first_seen[item.item_id].rsplit(":", 1)[1]
            raise DataError(f"{where}: duplicate item_id {item.item_id!r} (first on line {first})")
        first_seen[item.item_id] = where
        items.append(item)
    if not items:
        raise DataError(f"{path}: no items", hint="the file needs at least one JSON object line")
    return tuple(items)
