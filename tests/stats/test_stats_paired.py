"""Paired tests against statsmodels and scipy, plus behaviour on planted effects."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.multitest import multipletests

from assay.errors import UsageError
from assay.stats import holm, mcnemar_exact, paired_bootstrap, paired_permutation, paired_test, verdict


def _binary_pairs(rng: np.random.Generator, n: int, pa: float, pb: float) -> tuple[np.ndarray, np.ndarray]:
    return (rng.random(n) < pa).astype(float), (rng.random(n) < pb).astype(float)


@pytest.mark.parametrize("seed", range(12))
def test_mcnemar_matches_statsmodels_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = _binary_pairs(rng, int(rng.integers(5, 80)), 0.6, float(rng.uniform(0.2, 0.8)))
    table = [[((a == 1) & (b == 1)).sum(), ((a == 1) & (b == 0)).sum()],
             [((a == 0) & (b == 1)).sum(), ((a == 0) & (b == 0)).sum()]]  # fmt: skip
    assert mcnemar_exact(a, b) == pytest.approx(sm_mcnemar(np.array(table), exact=True).pvalue, rel=1e-12)


def test_mcnemar_edge_cases() -> None:
    assert mcnemar_exact([1, 0, 1], [1, 0, 1]) == 1.0  # no discordant pair
    assert mcnemar_exact([1] * 10, [0] * 10) == pytest.approx(2 * 0.5**10)
    with pytest.raises(UsageError):
        mcnemar_exact([0.5, 1], [1, 0])


@pytest.mark.parametrize("n", [5, 8, 11])
def test_permutation_exact_matches_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    a, b = rng.normal(0.3, 1, n), rng.normal(0, 1, n)
    ref = sps.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        n_resamples=np.inf, vectorized=True,
    )  # fmt: skip
    assert paired_permutation(a, b) == pytest.approx(ref.pvalue, abs=1e-12)


def test_permutation_monte_carlo_close_to_scipy() -> None:
    rng = np.random.default_rng(7)
    a, b = rng.normal(0.25, 1, 60), rng.normal(0, 1, 60)
    ref = sps.permutation_test(
        (a, b), lambda x, y, axis: np.mean(x - y, axis=axis), permutation_type="samples",
        n_resamples=20_000, vectorized=True, rng=np.random.default_rng(1),
    )  # fmt: skip
    assert paired_permutation(a, b, n_resamples=20_000, seed=3) == pytest.approx(ref.pvalue, abs=0.01)


def test_bootstrap_ci_matches_scipy_percentile_interval() -> None:
    rng = np.random.default_rng(11)
    a, b = rng.normal(0.5, 1, 150), rng.normal(0.2, 1, 150)
    _, low, high = paired_bootstrap(a, b, n_resamples=20_000, seed=5)
    ref = sps.bootstrap(
        (a - b,), np.mean, method="percentile", n_resamples=20_000, rng=np.random.default_rng(2)
    )
    assert low == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert high == pytest.approx(ref.confidence_interval.high, abs=0.02)


def test_bootstrap_detects_a_shift_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0, 1, 200)
    shifted = base + 0.3 + rng.normal(0, 0.3, 200)
    p_shift, low, high = paired_bootstrap(shifted, base, seed=1)
    assert p_shift < 0.001 and low > 0 and 0.3 - 0.1 < (low + high) / 2 < 0.3 + 0.1
    noisy = base + rng.normal(0, 0.3, 200)
    assert paired_bootstrap(noisy, base, seed=1)[0] > 0.05


def test_false_positive_rate_under_null_is_near_alpha() -> None:
    rng = np.random.default_rng(42)
    rejections = 0
    for _ in range(200):
        a, b = rng.normal(0, 1, 40), rng.normal(0, 1, 40)
        rejections += paired_bootstrap(a, b, n_resamples=500, seed=int(rng.integers(1 << 30)))[0] < 0.05
    assert 0.01 <= rejections / 200 <= 0.10


def test_paired_test_picks_mcnemar_for_binary_and_bootstrap_otherwise() -> None:
    a, b = [1, 1, 1, 0, 1, 1, 0, 1], [0, 1, 0, 0, 0, 1, 0, 0]
    result = paired_test(a, b)
    assert result.test == "mcnemar_exact" and result.p_value == pytest.approx(mcnemar_exact(a, b))
    assert (result.wins, result.ties, result.losses) == (4, 4, 0)
    assert result.difference == pytest.approx(0.5) and result.ci_low <= 0.5 <= result.ci_high
    assert paired_test([0.5, 0.7, 0.9], [0.1, 0.2, 0.3]).test == "paired_bootstrap"
    assert paired_test(a, b, test="permutation").test == "paired_permutation"
    assert paired_test(a, b, seed=3) == paired_test(a, b, seed=3)  # seeded: reproducible


def test_paired_test_rejects_bad_input() -> None:
    with pytest.raises(UsageError):
        paired_test([1, 2], [1])
    with pytest.raises(UsageError):
        paired_test([], [])
    with pytest.raises(UsageError):
        paired_test([1.0, float("nan")], [1.0, 0.0])


def test_holm_matches_statsmodels() -> None:
    p = [0.01, 0.04, 0.03, 0.005, 0.2, 0.04]
    assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]), abs=1e-12)
    assert holm([]) == []


def test_verdict_follows_metric_direction() -> None:
    assert verdict(0.1, 0.01, 0.05) == "A better"
    assert verdict(0.1, 0.01, 0.05, higher_is_better=False) == "B better"
    assert verdict(-0.1, 0.2, 0.05) == "no significant difference"
