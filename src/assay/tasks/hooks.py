"""Python hooks for built-in tasks whose rows need more than a template (named in their YAML)."""

from __future__ import annotations

import re
from typing import Any

Row = dict[str, Any]


def _hellaswag_clean(text: str) -> str:
    text = text.strip()
    # brackets are artifacts of the WikiHow part of HellaSwag
    text = text.replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")


def hellaswag_docs(rows: list[Row]) -> list[Row]:
    """Build `query`, `choices` and `gold` the way lm-evaluation-harness does."""
    out = []
    for row in rows:
        ctx = row["ctx_a"] + " " + row["ctx_b"].capitalize()
        out.append(
            {
                **row,
                "query": _hellaswag_clean(row["activity_label"] + ": " + ctx),
                "choices": [_hellaswag_clean(e) for e in row["endings"]],
                "gold": int(row["label"]),
            }
        )
    return out


def winogrande_contexts(row: Row) -> list[str]:
    """The sentence up to the blank, with each option filled in: one context per choice."""
    cut = row["sentence"].index("_")
    return [row["sentence"][:cut] + option for option in (row["option1"], row["option2"])]


def winogrande_continuation(row: Row) -> str:
    """The rest of the sentence after the blank, scored after every context."""
    cut = row["sentence"].index("_") + 1
    return str(row["sentence"][cut:].strip())
