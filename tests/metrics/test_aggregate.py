"""Aggregation matches lm-evaluation-harness's reference functions (installed as a dev dependency)."""

from __future__ import annotations

import random

import pytest

from assay.metrics.aggregate import aggregate_scores, mean_metric, pooled_group
from assay.metrics.choice import choice_scores
from assay.records import Score

lm_metrics = pytest.importorskip("lm_eval.api.metrics")


def test_mean_and_stderr_match_lm_eval() -> None:
    rng = random.Random(0)
    values = [float(rng.random() < 0.4) for _ in range(137)]
    assert mean_metric([]) is None  # nothing scored: no value, not 0
    mv = mean_metric(values)
    assert mv is not None and mv.higher_is_better
    assert mv.value == pytest.approx(lm_metrics.mean(values), abs=1e-12)
    assert mv.stderr == pytest.approx(lm_metrics.mean_stderr(values), abs=1e-12)
    assert mv.n == 137


def test_group_is_size_weighted_with_pooled_stderr_as_lm_eval() -> None:
    rng = random.Random(1)
    parts = [[float(rng.random() < p) for _ in range(n)] for p, n in ((0.3, 40), (0.7, 100), (0.5, 13))]
    members = [mean_metric(p) for p in parts]
    assert all(m is not None for m in members)
    group = pooled_group([m for m in members if m is not None])
    sizes = [len(p) for p in parts]
    means = [m.value for m in members if m]
    stderrs = [m.stderr for m in members if m]
    assert group.value == pytest.approx(lm_metrics.aggregate_subtask_metrics(means, sizes), abs=1e-12)
    assert group.stderr == pytest.approx(lm_metrics.pooled_sample_stderr(stderrs, sizes), abs=1e-12)
    assert group.n == 153


def test_unscored_samples_are_skipped_not_zero() -> None:
    scores = [
        (Score(metric="judge", value=8.0),),
        (Score(metric="judge", value=None),),
        (Score(metric="judge", value=6.0),),
    ]
    out = aggregate_scores(scores)
    assert out["judge"].value == 7.0 and out["judge"].n == 2


def test_acc_norm_divides_by_choice_length_in_characters() -> None:
    # raw: choice 1 wins; per character: choice 0 wins (-10/20 = -0.5 > -6/4 = -1.5)
    pred, scores = choice_scores([-10.0, -6.0], ["a" * 20, "bbbb"], 0, ["acc", "acc_norm"])
    assert pred == 1
    assert {s.metric: s.value for s in scores} == {"acc": 0.0, "acc_norm": 1.0}


def test_ties_go_to_the_first_choice_like_numpy_argmax() -> None:
    pred, scores = choice_scores([-1.0, -1.0, -3.0], ["x", "y", "z"], 0, ["acc"])
    assert pred == 0 and scores[0].value == 1.0
