"""lm-eval task modules that import transformers' removed squad_metrics load and score through assay's stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lm_eval")

from assay.lmeval import compat  # noqa: E402
from assay.lmeval.features import load_task_config  # noqa: E402


@pytest.mark.parametrize(
    ("text", "normal"),
    [("  An  apple,  THE pie. ", "apple pie"), ("theater a-b", "theater ab"), ("Anne's", "annes"), ("", "")],
)
def test_normalization_follows_squad(text: str, normal: str) -> None:
    assert compat.normalize_answer(text) == normal


def test_exact_and_f1_follow_squad() -> None:
    assert compat.compute_exact("The Cat!", "cat") == 1
    assert compat.compute_exact("cat", "cats") == 0
    assert compat.compute_f1("the cat sat", "a cat sat down") == pytest.approx(0.8)  # 2 of 3 predicted, 2 of 2 gold
    assert compat.compute_f1("cat cat dog", "cat") == pytest.approx(0.5)  # P 1, R 1/3
    assert compat.compute_f1("", "") == 1 and compat.compute_f1("the", "x") == 0  # an empty answer vs another
    assert compat.compute_f1("dog", "cat") == 0


def test_coqa_loads_and_scores_with_the_stand_in() -> None:
    import lm_eval

    yaml_path = Path(lm_eval.__file__).parent / "tasks" / "coqa" / "default.yaml"
    cfg = load_task_config(yaml_path)  # failed with ModuleNotFoundError before the stand-in
    doc = {"story": "s", "questions": {"input_text": ["who?"]}, "answers": {"input_text": ["The old man"]},
           "additional_answers": {"0": {"input_text": ["a man"]}}}  # fmt: skip
    scores = cfg["process_results"](doc, ["old man\nQ: next"])
    # golds "The old man", "a man", each scored against the other: vs "a man" em 0, f1 2/3 (P 1/2, R 1);
    # vs "The old man" em 1, f1 1; means over the two
    assert scores == {"em": 0.5, "f1": pytest.approx(5 / 6)}
