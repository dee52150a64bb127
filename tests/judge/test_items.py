"""Judging the human app's items and measuring agreement with its real export (the Store, not a copy)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay.human.blinding import is_swapped
from assay.human.export import export_rows
from assay.human.items import load_items
from assay.human.storage import Store
from assay.judge.items import judge_items
from assay.judge.judge import Judge, JudgeConfig
from assay.judge.quality import agreement
from assay.records import GenerationRequest

from .helpers import ScriptedModel


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


SINGLE = [
    {"item_id": f"q{i}", "prompt": f"Question {i}?", "response": text, "model": "m"}
    for i, text in enumerate(["Answer number 0.", "<b>no digits</b>", "Answer number 2.", "Answer number 3."])
]


def _rubric_judge(request: GenerationRequest) -> str:
    # grades "Answer number N." as N + 5 and cannot grade an answer without a number
    found = re.search(r"Answer number (\d)\.", request.prompt)
    return f'{{"score": {int(found.group(1)) + 5}, "reasoning": "fine"}}' if found else "I cannot grade this."


def test_single_items_judged_and_compared_with_annotators(tmp_path: Path) -> None:
    items_path = _write(tmp_path / "items.jsonl", SINGLE)
    rows = judge_items(items_path, "single", Judge(ScriptedModel(_rubric_judge), JudgeConfig(retries=1)))
    assert [r["score"] for r in rows] == [5.0, None, 7.0, 8.0]
    assert rows[1]["attempts"] == 2 and "no JSON object" in rows[1]["error"]
    assert rows[0]["answer_length"] == len("Answer number 0.")

    store = Store.create(tmp_path / "ratings.sqlite", "single", load_items(items_path, "single"))
    for item_id, score in {"q0": 5, "q1": 6, "q2": 8, "q3": 8}.items():
        store.save_rating("ann", item_id, score=score)
    report = agreement(rows, export_rows(store))
    assert (report.n_items, report.n_judge_unscored) == (3, 1)
    assert report.accuracy == pytest.approx(2 / 3) and report.extra["within_1"] == 1.0


PAIRS = [
    {"item_id": f"p{i}", "prompt": f"Pair question {i}?", "response_a": f"alpha {i}",
     "response_b": f"beta beta {i}", "model_a": "model-a", "model_b": "model-b"}
    for i in range(4)
]  # fmt: skip


def test_pairwise_items_judged_in_both_orders_against_annotators(tmp_path: Path, data_dir: Path) -> None:
    items_path = _write(tmp_path / "pairs.jsonl", PAIRS)
    judge = ScriptedModel(
        lambda r: "[[A]]" if re.search(r"Assistant A's Answer\]\nalpha", r.prompt) else "[[B]]"
    )
    rows = judge_items(items_path, "pairwise", Judge(judge), data_dir=data_dir)
    assert len(judge.requests) == 8  # every pair in both orders
    assert [(r["winner"], r["consistent"]) for r in rows] == [("a", True)] * 4

    store = Store.create(tmp_path / "pairs.sqlite", "pairwise", load_items(items_path, "pairwise"))
    for item in PAIRS:  # the annotator prefers alpha, except a tie on p3; sides are randomised per annotator
        swapped = is_swapped("ann", item["item_id"])
        choice = "tie" if item["item_id"] == "p3" else ("B" if swapped else "A")
        store.save_rating("ann", item["item_id"], choice=choice)
    report = agreement(rows, export_rows(store))
    assert report.n_items == 4 and report.accuracy == pytest.approx(0.75)
    assert report.kappa == pytest.approx(0.0)  # the judge always says "a": no agreement beyond chance
    assert report.extra["position_bias_rate"] == 0.0
    assert report.extra["judge_longer_wins_rate"] == 0.0  # it always picked the shorter answer
