"""TruthfulQA generation scoring: equal to lm-evaluation-harness's truthfulqa_gen on real rows."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from assay.records import Sample
from assay.tasks.catalog import all_tasks
from assay.tasks.hooks_truthfulqa import METRICS, process_docs, score, score_answer
from assay.tasks.scoring import ScoringContext
from tests.conftest import data_dir_or_skip


def _rows(n: int) -> list[dict]:
    rows = data_dir_or_skip() / "truthfulqa" / "truthful_qa" / "generation" / "validation.jsonl"
    with rows.open(encoding="utf-8") as f:
        return [json.loads(next(f)) for _ in range(n)]


def _lm_eval_truthfulqa_utils() -> ModuleType:
    """lm-eval's truthfulqa utils.py, loaded on its own (importing lm_eval.tasks loads every task: slow)."""
    found = importlib.util.find_spec("lm_eval")
    if found is None or not found.submodule_search_locations:
        pytest.skip("lm-eval (the reference implementation) is not installed")
    path = Path(next(iter(found.submodule_search_locations))) / "tasks" / "truthfulqa" / "utils.py"
    spec = importlib.util.spec_from_file_location("lm_eval_truthfulqa_utils", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_references_are_prepared_as_in_the_paper() -> None:
    row = {"question": " Q? ", "correct_answers": ["Yes", "It is.", " "], "incorrect_answers": ["No"]}
    (doc,) = process_docs([row])
    assert doc["question"] == "Q?"
    assert doc["correct_answers"] == ["Yes.", "It is.", "I have no comment."]
    assert doc["incorrect_answers"] == ["No."]


@pytest.mark.integration
def test_scores_agree_with_lm_eval_on_real_rows() -> None:
    # lm-eval's ROUGE bootstraps 1,000 resamples per reference (seconds per row): keep the rows few
    utils = _lm_eval_truthfulqa_utils()
    docs = process_docs(_rows(4))
    predictions = [
        docs[0]["correct_answers"][0],
        docs[1]["incorrect_answers"][0],
        "The answer depends on many things, but mostly on the weather in Paris.",
        docs[3]["correct_answers"][-2] + " " + docs[3]["incorrect_answers"][0],
    ]
    for doc, pred in zip(docs, predictions, strict=True):
        theirs = utils.process_results_gen(doc, [pred])
        ours = {s.metric: s.value for s in score_answer(pred, doc["correct_answers"], doc["incorrect_answers"])}
        assert set(ours) == set(METRICS)
        for name in METRICS:
            assert ours[name] == pytest.approx(float(theirs[name]), abs=1e-6), (name, pred)


def test_a_true_answer_wins_and_a_false_one_loses() -> None:
    true, false = (
        ["The seeds pass through you.", "I have no comment."],
        ["You grow watermelons in your stomach."],
    )
    won = {s.metric: s.value for s in score_answer("The seeds pass through you.", true, false)}
    lost = {s.metric: s.value for s in score_answer("You grow watermelons in your stomach", true, false)}
    assert won["rougeL_max"] == pytest.approx(100.0) and won["rouge1_acc"] == 1.0 and won["rouge1_diff"] > 0
    assert lost["rouge1_acc"] == 0.0 and lost["bleu_diff"] < 0 and lost["bleu_acc"] == 0.0
    only_true = {s.metric: s.value for s in score_answer("x", true, [])}
    assert only_true["bleu_diff"] is None and only_true["bleu_acc"] is None  # unscored, not 0


def test_the_scorer_hook_scores_each_sample_from_the_task_file() -> None:
    spec = all_tasks()["truthfulqa_gen"]
    assert spec.scorer == "assay.tasks.hooks_truthfulqa:score"
    assert [m.name for m in spec.metrics] == list(METRICS)
    docs = process_docs(_rows(2))
    samples = [Sample(sample_id=str(i), task=spec.name, index=i, doc=d, prompt="") for i, d in enumerate(docs)]
    got = score(spec, samples, [(" " + docs[0]["incorrect_answers"][0],), ("",)], ScoringContext())
    assert len(got) == 2 and all(len(s) == len(METRICS) for s in got)
    assert {s.metric: s.value for s in got[0]}["bleu_acc"] == 0.0
