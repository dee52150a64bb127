"""Paired tests: two systems scored on the same items, compared item by item.

- McNemar's exact test for 0/1 outcomes: under H0 each discordant pair is equally likely to favour A or B,
  so the smaller discordant count is Binomial(b + c, 1/2); the p-value is two-sided.
- Paired bootstrap (Efron & Tibshirani 1993; Koehn 2004): resample items with replacement; the percentile
  interval of the mean difference is the CI; the p-value is that of the bootstrap distribution recentred on 0.
- Paired permutation (sign-flip) test: under H0 the sign of each difference is exchangeable. Exact enumeration
  for up to `exact_max` non-zero differences, Monte Carlo otherwise.

Every function takes an explicit seed; the same inputs and seed give the same numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assay.errors import UsageError


def _sps():  # type: ignore[no-untyped-def]
    """scipy.stats, imported on first use: it costs seconds, and every CLI start would pay for it."""
    from scipy import stats

    return stats

TestName = Literal["auto", "mcnemar", "bootstrap", "permutation"]
Verdict = Literal["A better", "B better", "no significant difference"]
Scores = Sequence[float] | np.ndarray
_CHUNK = 2_000_000  # resample matrix cells per numpy chunk: bounded memory for large n


class WinTieLoss:
    """Shares of the paired samples where A scored higher, the same, or lower than B."""

    __slots__ = ()
    n: int
    wins: int
    ties: int
    losses: int

    @property
    def win_rate(self) -> float:
        return self.wins / self.n if self.n else math.nan

    @property
    def tie_rate(self) -> float:
        return self.ties / self.n if self.n else math.nan

    @property
    def loss_rate(self) -> float:
        return self.losses / self.n if self.n else math.nan


@dataclass(frozen=True, slots=True, kw_only=True)
class PairedTest(WinTieLoss):
    """The result of comparing paired scores a[i] and b[i]; `difference` is mean(a) - mean(b)."""

    test: str  # "mcnemar_exact" | "paired_bootstrap" | "paired_permutation"
    n: int
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float  # percentile bootstrap interval of the difference
    ci_high: float
    confidence: float
    p_value: float
    wins: int  # items where a > b (beyond the tie tolerance)
    ties: int
    losses: int



def _as_pairs(a: Scores, b: Scores) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise UsageError(f"paired scores need two lists of the same length (got {x.shape} and {y.shape})")
    if x.size == 0:
        raise UsageError("no paired scores to compare", hint="the two sides share no scored item")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise UsageError("paired scores must be finite numbers (drop unscored items first)")
    return x, y


def is_binary(values: Scores) -> bool:
    """True when every value is 0 or 1."""
    arr = np.asarray(values, dtype=float)
    return bool(np.isin(arr, (0.0, 1.0)).all())


def win_tie_loss(a: Scores, b: Scores, tolerance: float = 0.0) -> tuple[int, int, int]:
    """Counts of items where a beats b, ties (|a - b| <= tolerance), and loses."""
    x, y = _as_pairs(a, b)
    d = x - y
    ties = int((np.abs(d) <= tolerance).sum())
    wins = int((d > tolerance).sum())
    return wins, ties, int(d.size - wins - ties)


def mcnemar_exact(a: Scores, b: Scores) -> float:
    """Two-sided exact McNemar p-value for paired 0/1 outcomes (1.0 when there is no discordant pair)."""
    x, y = _as_pairs(a, b)
    if not (is_binary(x) and is_binary(y)):
        raise UsageError("McNemar's test needs 0/1 outcomes", hint="use the bootstrap or permutation test")
    only_a = int(((x == 1) & (y == 0)).sum())
    only_b = int(((x == 0) & (y == 1)).sum())
    if only_a + only_b == 0:
        return 1.0
    return float(min(1.0, 2.0 * _sps().binom.cdf(min(only_a, only_b), only_a + only_b, 0.5)))


def bootstrap_means(d: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    """Means of `n_resamples` resamples (with replacement) of `d`, computed in bounded-memory chunks."""
    rng = np.random.default_rng(seed)
    out = np.empty(n_resamples)
    step = max(1, _CHUNK // max(1, d.size))
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        idx = rng.integers(0, d.size, size=(rows, d.size))
        out[start : start + rows] = d[idx].mean(axis=1)
    return out


def _percentile_ci(means: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(means, [tail, 100.0 - tail])
    return float(low), float(high)


def paired_bootstrap(
    a: Scores,
    b: Scores,
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """(p-value, CI low, CI high) of mean(a - b) by the paired bootstrap.

    p = (1 + #{|m* - mean(d)| >= |mean(d)|}) / (B + 1): the share of recentred resample means at least as far
    from 0 as the observed one (two-sided; never exactly 0).
    """
    x, y = _as_pairs(a, b)
    d = x - y
    means = bootstrap_means(d, n_resamples, seed)
    observed = float(d.mean())
    extreme = int((np.abs(means - observed) >= abs(observed) - 1e-12).sum())
    low, high = _percentile_ci(means, confidence)
    return (1 + extreme) / (n_resamples + 1), low, high


def paired_permutation(
    a: Scores, b: Scores, *, n_resamples: int = 10_000, seed: int = 0, exact_max: int = 16
) -> float:
    """Two-sided p-value of the sign-flip test on the differences a - b.

    Exact (all 2^k sign patterns of the k non-zero differences) when k <= exact_max, otherwise Monte Carlo
    with (1 + hits) / (B + 1).
    """
    x, y = _as_pairs(a, b)
    d = (x - y)[x != y]
    if d.size == 0:
        return 1.0
    observed = abs(float(d.sum()))
    slack = 1e-9 * max(
        1.0, observed
    )  # float sums of the same numbers in another order differ in the last bits
    if d.size <= exact_max:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=d.size)))
        sums = np.abs(signs @ d)
        return float((sums >= observed - slack).mean())
    rng = np.random.default_rng(seed)
    hits = 0
    step = max(1, _CHUNK // d.size)
    for start in range(0, n_resamples, step):
        rows = min(step, n_resamples - start)
        signs = rng.choice((1.0, -1.0), size=(rows, d.size))
        hits += int((np.abs(signs @ d) >= observed - slack).sum())
    return (1 + hits) / (n_resamples + 1)


def paired_test(
    a: Sequence[float],
    b: Sequence[float],
    *,
    test: TestName = "auto",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    tie_tolerance: float = 0.0,
) -> PairedTest:
    """Compare paired scores: McNemar exact for 0/1 data under `auto`, the paired bootstrap otherwise.

    The CI of the difference is always the percentile bootstrap interval, so intervals are comparable
    across tests.
    """
    if not 0.0 < confidence < 1.0:
        raise UsageError(f"confidence must be in (0, 1), got {confidence}")
    x, y = _as_pairs(a, b)
    if test == "auto":
        test = "mcnemar" if is_binary(x) and is_binary(y) else "bootstrap"
    p_boot, low, high = paired_bootstrap(x, y, n_resamples=n_resamples, confidence=confidence, seed=seed)
    if test == "mcnemar":
        name, p = "mcnemar_exact", mcnemar_exact(x, y)
    elif test == "bootstrap":
        name, p = "paired_bootstrap", p_boot
    elif test == "permutation":
        name, p = "paired_permutation", paired_permutation(x, y, n_resamples=n_resamples, seed=seed)
    else:
        raise UsageError(f"unknown paired test {test!r}", hint="auto, mcnemar, bootstrap or permutation")
    wins, ties, losses = win_tie_loss(x, y, tie_tolerance)
    return PairedTest(
        test=name,
        n=int(x.size),
        mean_a=float(x.mean()),
        mean_b=float(y.mean()),
        difference=float(x.mean() - y.mean()),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        p_value=float(p),
        wins=wins,
        ties=ties,
        losses=losses,
    )


def verdict(difference: float, p_value: float, alpha: float, higher_is_better: bool = True) -> Verdict:
    """Which side is better, when the (adjusted) p-value is below alpha; the metric's direction decides."""
    if not p_value < alpha or difference == 0:
        return "no significant difference"
    a_better = difference > 0 if higher_is_better else difference < 0
    return "A better" if a_better else "B better"
