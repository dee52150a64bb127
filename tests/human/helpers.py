"""Helpers for the human evaluation tests: small items files in both modes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def single_rows(n: int = 4) -> list[dict[str, Any]]:
    """n single-mode rows; item q1 carries HTML so escaping can be checked."""
    rows = [
        {
            "item_id": f"q{i}",
            "prompt": f"Question {i}?",
            "response": f"Answer number {i}.",
            "model": "model-x" if i % 2 else "model-y",
        }
        for i in range(n)
    ]
    if n > 1:
        rows[1]["response"] = "<script>window.pwned = 1</script><b>bold?</b>"
    return rows


def pairwise_rows(n: int = 4) -> list[dict[str, Any]]:
    """n pairwise rows where response_a always comes from model-a (texts say which side they are)."""
    return [
        {
            "item_id": f"p{i}",
            "prompt": f"Pair question {i}?",
            "response_a": f"alpha answer {i}",
            "response_b": f"beta answer {i}",
            "model_a": "model-a",
            "model_b": "model-b",
        }
        for i in range(n)
    ]


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    """Write rows (objects, or raw strings written as they are) one per line."""
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
