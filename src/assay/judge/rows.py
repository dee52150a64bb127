"""The judgments JSONL contract: one row per judged item, what `assay judge agreement` reads.

    single:   {"item_id", "mode": "single", "model", "score", "reasoning", "answer_length",
               "prompt_name", "attempts", "outputs", "error"}
    pairwise: {"item_id", "mode": "pairwise", "model_a", "model_b", "winner", "first_order", "second_order",
               "consistent", "len_a", "len_b", "prompt_name", "forward": {...}, "backward": {...}}

`score` is null for an unscored item and `winner` is null when either order could not be read. `winner`,
`first_order` and `second_order` are "a", "b" or "tie" relative to the item (first_order: a shown first),
the same convention as the human app's export, so the two join on item_id.
"""

from __future__ import annotations

from typing import Any

from assay.judge.judge import Judgment, PairJudgment


def _attempts(j: Judgment) -> dict[str, Any]:
    return {
        "value": j.value,
        "reasoning": j.reasoning,
        "attempts": j.attempts,
        "outputs": list(j.outputs),
        "error": j.error,
    }


def single_row(j: Judgment, *, model: str, answer: str) -> dict[str, Any]:
    """A single-grading judgment as a JSONL row."""
    score = j.value if isinstance(j.value, float) else None
    return {
        "item_id": j.item_id,
        "mode": "single",
        "model": model,
        "score": score,
        "reasoning": j.reasoning,
        "answer_length": len(answer),
        "prompt_name": j.prompt_name,
        "attempts": j.attempts,
        "outputs": list(j.outputs),
        "error": j.error,
    }


def pair_row(p: PairJudgment, *, model_a: str, model_b: str, answer_a: str, answer_b: str) -> dict[str, Any]:
    """A pairwise judgment (both orders) as a JSONL row."""
    return {
        "item_id": p.item_id,
        "mode": "pairwise",
        "model_a": model_a,
        "model_b": model_b,
        "winner": p.winner,
        "first_order": p.first_order,
        "second_order": p.second_order,
        "consistent": p.consistent,
        "len_a": len(answer_a),
        "len_b": len(answer_b),
        "prompt_name": p.forward.prompt_name,
        "forward": _attempts(p.forward),
        "backward": _attempts(p.backward),
    }
