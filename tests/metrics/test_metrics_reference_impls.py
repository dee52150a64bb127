"""BLEU, chrF and ROUGE-L agree with sacrebleu and rouge-score on arbitrary text (hypothesis)."""

from __future__ import annotations

import pytest
import sacrebleu
from hypothesis import given, settings
from hypothesis import strategies as st
from rouge_score import rouge_scorer

from assay.metrics.text import bleu, chrf, lcs_length, rouge_l

WORDS = st.lists(
    st.sampled_from(["the", "cat", "sat", "on", "a", "mat", "dog", "Ran", "far", ".", ",", "42"]), max_size=15
).map(" ".join)
_ROUGE = rouge_scorer.RougeScorer(["rougeL"])


@settings(max_examples=150, deadline=None)
@given(WORDS, WORDS)
def test_bleu_and_chrf_match_sacrebleu(pred: str, ref: str) -> None:
    if pred == ref:  # identical strings: assay defines the best value, sacrebleu may say 0 for empty text
        assert bleu(pred, ref) == 100.0 and chrf(pred, ref) == 100.0
        return
    assert bleu(pred, ref) == pytest.approx(min(100.0, sacrebleu.sentence_bleu(pred, [ref]).score), abs=1e-9)
    assert chrf(pred, ref) == pytest.approx(min(100.0, sacrebleu.sentence_chrf(pred, [ref]).score), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(WORDS, WORDS)
def test_rouge_l_matches_rouge_score(pred: str, ref: str) -> None:
    expected = _ROUGE.score(ref, pred)["rougeL"].fmeasure
    if pred == ref:
        assert rouge_l(pred, ref) == 1.0
    else:
        assert rouge_l(pred, ref) == pytest.approx(expected, abs=1e-12)


def test_lcs_length_known_values() -> None:
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # CLRS's example
    assert lcs_length([], list("abc")) == 0
