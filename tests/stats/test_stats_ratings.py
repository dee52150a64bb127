"""Elo and Bradley-Terry: hand-computed Elo updates; Bradley-Terry MLE against a statsmodels logistic GLM."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from assay.errors import DataError, UsageError
from assay.stats import bradley_terry, elo, rate


def _simulate(
    strengths: dict[str, float], n: int, seed: int, tie_rate: float = 0.1
) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    names = list(strengths)
    out = []
    for _ in range(n):
        a, b = rng.choice(names, size=2, replace=False)
        p_a = 1 / (1 + 10 ** ((strengths[b] - strengths[a]) / 400))
        r = rng.random()
        out.append((str(a), str(b), "tie" if r < tie_rate else ("a" if rng.random() < p_a else "b")))
    return out


def test_elo_hand_computed_updates() -> None:
    ratings = elo([("x", "y", "a")])
    assert ratings == {"x": 1016.0, "y": 984.0}  # expected score 0.5, K = 32
    ratings = elo([("x", "y", "a"), ("x", "y", "b")])
    expected_y = 1 / (1 + 10 ** ((1016 - 984) / 400))
    assert ratings["y"] == pytest.approx(984 + 32 * (1 - expected_y))
    assert ratings["x"] + ratings["y"] == pytest.approx(2000.0)  # zero-sum


def test_bradley_terry_matches_logistic_glm() -> None:
    matches = _simulate({"m0": 0, "m1": 100, "m2": 250, "m3": -80}, 400, seed=1)
    ratings = bradley_terry(matches)
    models = sorted(ratings)
    x = np.zeros((len(matches), len(models)))
    y = np.zeros(len(matches))
    for row, (a, b, o) in enumerate(matches):
        x[row, models.index(a)], x[row, models.index(b)] = 1, -1
        y[row] = {"a": 1.0, "b": 0.0, "tie": 0.5}[o]
    fit = sm.GLM(y, x[:, 1:], family=sm.families.Binomial()).fit()  # m0 is the reference (strength 0)
    beta = np.concatenate([[0.0], fit.params])
    for i, m in enumerate(models):
        expected = (beta[i] - beta[0]) * 400 / math.log(10)
        assert ratings[m] - ratings["m0"] == pytest.approx(expected, abs=1e-4)
    assert np.mean(list(ratings.values())) == pytest.approx(1000.0)


def test_bradley_terry_without_mle_needs_a_prior() -> None:
    matches = [("a", "b", "a"), ("a", "c", "a"), ("b", "c", "tie")]  # a never loses
    with pytest.raises(DataError):
        bradley_terry(matches)
    ratings = bradley_terry(matches, prior=0.5)
    assert ratings["a"] > ratings["b"] == pytest.approx(ratings["c"])


def test_rate_recovers_order_with_intervals() -> None:
    truth = {"weak": -200.0, "mid": 0.0, "strong": 200.0}
    matches = _simulate(truth, 600, seed=4)
    for method in ("bradley_terry", "elo"):
        ratings = rate(matches, method=method, n_resamples=200, seed=0)  # type: ignore[arg-type]
        assert [r.model for r in ratings] == ["strong", "mid", "weak"]
        for r in ratings:
            assert r.ci_low <= r.rating <= r.ci_high
    bt = {r.model: r for r in rate(matches, n_resamples=200, seed=0)}
    gap = bt["strong"].rating - bt["weak"].rating
    assert 300 < gap < 500  # true gap 400
    assert rate(matches, n_resamples=50, seed=9) == rate(matches, n_resamples=50, seed=9)


def test_rate_rejects_bad_matches() -> None:
    with pytest.raises(UsageError):
        rate([])
    with pytest.raises(UsageError):
        rate([("a", "b", "win")])
    with pytest.raises(UsageError):
        bradley_terry([("a", "a", "tie")])
