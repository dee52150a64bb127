"""Agreement statistics against published worked examples and statsmodels; judge-bias helpers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.inter_rater import cohens_kappa as sm_cohen
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from assay.errors import UsageError
from assay.stats import (
    accuracy,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha,
    length_bias,
    longer_wins_rate,
    position_bias,
)

N = None
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# 4 observers, 12 units, missing data
KRIPPENDORFF_C = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
    [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
]
# Fleiss' kappa example (Wikipedia, "Fleiss' kappa"): 10 subjects, 14 raters, 5 categories; kappa = 0.210
FLEISS_WIKI = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]  # fmt: skip


@pytest.mark.parametrize(
    ("level", "expected"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)]
)
def test_krippendorff_worked_example(level: str, expected: float) -> None:
    assert krippendorff_alpha(KRIPPENDORFF_C, level=level) == pytest.approx(expected, abs=5e-4)  # type: ignore[arg-type]


def test_krippendorff_binary_two_observers() -> None:
    # Krippendorff (2011), section A: alpha = 0.095
    data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    assert krippendorff_alpha(data) == pytest.approx(0.095, abs=5e-4)
    assert krippendorff_alpha([["x", "y", "x"], ["x", "y", "x"]]) == 1.0
    with pytest.raises(UsageError):
        krippendorff_alpha([[1, N], [N, 2]])
    with pytest.raises(UsageError):
        krippendorff_alpha([[1, 2], [1]])


def test_fleiss_kappa_wikipedia_example_and_statsmodels() -> None:
    assert fleiss_kappa_from_counts(FLEISS_WIKI) == pytest.approx(0.210, abs=5e-4)
    assert fleiss_kappa_from_counts(FLEISS_WIKI) == pytest.approx(sm_fleiss(np.array(FLEISS_WIKI)), abs=1e-12)
    labels = [[c for c, k in enumerate(row) for _ in range(k)] for row in FLEISS_WIKI]
    assert fleiss_kappa(labels) == pytest.approx(fleiss_kappa_from_counts(FLEISS_WIKI), abs=1e-12)
    with pytest.raises(UsageError):
        fleiss_kappa([["a", "b"], ["a"]])


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_statsmodels(weights: str | None) -> None:
    rng = np.random.default_rng(3)
    a = rng.integers(1, 6, 120)
    b = np.clip(a + rng.integers(-1, 2, 120), 1, 5)
    table = np.zeros((5, 5))
    for x, y in zip(a, b, strict=True):
        table[x - 1, y - 1] += 1
    expected = sm_cohen(table, wt=weights).kappa
    assert cohen_kappa(list(a), list(b), weights=weights) == pytest.approx(expected, abs=1e-12)  # type: ignore[arg-type]


def test_cohen_kappa_and_accuracy_simple_cases() -> None:
    a, b = ["yes", "yes", "no", "no"], ["yes", "no", "no", "no"]
    assert accuracy(a, b) == 0.75
    assert cohen_kappa(a, b) == pytest.approx(0.5)  # p_o = .75, p_e = .5
    assert math.isnan(cohen_kappa(["x", "x"], ["x", "x"]))
    with pytest.raises(UsageError):
        accuracy(["a"], ["a", "b"])


def test_position_bias_counts_flips_by_position() -> None:
    first = ["A", "A", "B", "tie", "A"]
    second = ["A", "B", "A", "tie", "B"]
    bias = position_bias(first, second)
    assert (bias.n, bias.consistent_rate, bias.inconsistent_rate) == (5, 0.4, 0.6)
    assert bias.first_position_rate == pytest.approx(0.4) and bias.second_position_rate == pytest.approx(0.2)
    with pytest.raises(UsageError):
        position_bias(["A"], ["C"])


def test_length_bias_finds_a_planted_preference() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.integers(10, 500, 100)
    biased = lengths / 50 + rng.normal(0, 1, 100)
    fair = rng.normal(5, 2, 100)
    assert length_bias(lengths, biased).r > 0.8 and length_bias(lengths, biased).p_value < 1e-6
    assert abs(length_bias(lengths, fair).r) < 0.3
    assert math.isnan(length_bias([1, 1, 1], [1, 2, 3]).r)
    assert longer_wins_rate([10, 50, 30, 5], [20, 10, 30, 9], ["b", "a", "a", "tie"]) == 1.0
