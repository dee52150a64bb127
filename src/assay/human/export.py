"""Ratings out of the database: JSONL rows with the sides resolved to the real model names.

One row per (annotator, item), ordered by item then annotator::

    single:   {"item_id", "annotator", "mode": "single", "model", "score", "comment",
               "created_at", "updated_at"}
    pairwise: {"item_id", "annotator", "mode": "pairwise", "model_a", "model_b", "choice", "swapped",
               "winner", "winner_model", "comment", "created_at", "updated_at"}

In pairwise rows `choice` is what the annotator clicked (A = left), `swapped` is true when the left side
showed model_b, `winner` is "a", "b" or "tie" relative to the item, and `winner_model` names the winning model
(null for a tie). Item texts are not repeated: join on item_id with the items file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.errors import UsageError
from assay.human.storage import Store
from assay.runs.layout import write_jsonl_atomic


def export_rows(store: Store) -> list[dict[str, Any]]:
    """Every rating in `store` as an export row."""
    rows: list[dict[str, Any]] = []
    for r in store.ratings():
        item = store.items[r.item_id]
        row: dict[str, Any] = {"item_id": r.item_id, "annotator": r.annotator, "mode": store.mode}
        if store.mode == "single":
            row |= {"model": item.model, "score": r.score}
        else:
            winner_model = {"a": item.model_a, "b": item.model_b}.get(r.winner or "")
            row |= {
                "model_a": item.model_a,
                "model_b": item.model_b,
                "choice": r.choice,
                "swapped": r.swapped,
                "winner": r.winner,
                "winner_model": winner_model,
            }
        row |= {"comment": r.comment, "created_at": r.created_at, "updated_at": r.updated_at}
        rows.append(row)
    return rows


def write_jsonl(rows: list[dict[str, Any]], path: Path) -> None:
    """Write `rows` to `path` atomically: a temporary file in the same folder, then a rename."""
    if not path.parent.is_dir():
        raise UsageError(f"folder {path.parent} does not exist", hint="create it first or pick another --output")
    if path.is_dir():
        raise UsageError(f"--output {path} is a folder", hint="pass a file name such as ratings.jsonl")
    write_jsonl_atomic(path, rows)
