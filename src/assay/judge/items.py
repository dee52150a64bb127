"""Judging the human app's ITEMS.jsonl, so judge and annotators label the very same items (joined on item_id).

Single items are graded with assay's rubric prompt (JSON output); pairwise items with FastChat's pair-v2
prompt, in both orders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.human.items import Mode, load_items
from assay.judge.judge import Judge, JudgeInput
from assay.judge.prompts import JudgePrompt, load_fastchat_prompts, rubric_prompt
from assay.judge.rows import pair_row, single_row
from assay.models.base import Progress


def judge_items(
    items_path: Path,
    mode: Mode,
    judge: Judge,
    *,
    data_dir: str | Path | None = None,
    prompt: JudgePrompt | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """Judgment rows (assay.judge.rows) for every item of an ITEMS.jsonl file, in file order."""
    items = load_items(items_path, mode)
    if mode == "single":
        chosen = prompt or rubric_prompt()
        inputs = [
            JudgeInput(item_id=i.item_id, prompt=chosen, fields={"question": i.prompt, "answer": i.response})
            for i in items
        ]
        judgments = judge.grade(inputs, progress)
        return [
            single_row(j, model=i.model, answer=i.response) for j, i in zip(judgments, items, strict=True)
        ]
    chosen = prompt or load_fastchat_prompts(data_dir)["pair-v2"]
    inputs = [
        JudgeInput(
            item_id=i.item_id,
            prompt=chosen,
            fields={"question": i.prompt, "answer_a": i.response_a, "answer_b": i.response_b},
        )
        for i in items
    ]
    pairs = judge.compare(inputs, progress)
    return [
        pair_row(p, model_a=i.model_a, model_b=i.model_b, answer_a=i.response_a, answer_b=i.response_b)
        for p, i in zip(pairs, items, strict=True)
    ]
