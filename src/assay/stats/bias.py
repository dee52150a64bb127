"""Judge-bias diagnostics: position bias from swapped-order verdicts, and length bias.

Pairwise verdicts are given in terms of the original answers ("A", "B" or "tie"), after mapping the swapped
presentation back: `first` is the verdict with A shown first, `second` the verdict with B shown first.
A consistent judge gives the same verdict both times. When it names A in the first order and B in the
second, it chose whichever answer was shown first: that is a preference for the first position.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionBias:
    """How often a pairwise judge changes its verdict when the answers swap places."""

    n: int
    consistent_rate: float
    inconsistent_rate: float  # the position-bias rate
    first_position_rate: float  # share of items where the judge picked whatever was shown first
    second_position_rate: float  # ... whatever was shown second


@dataclass(frozen=True, slots=True, kw_only=True)
class Correlation:
    """A correlation coefficient with its two-sided p-value."""

    method: str
    r: float
    p_value: float
    n: int


def _norm(verdict: str) -> str:
    v = verdict.strip().lower()
    if v not in {"a", "b", "tie"}:
        raise UsageError(f"unknown pairwise verdict {verdict!r}", hint="use 'A', 'B' or 'tie'")
    return v


def position_bias(first: Sequence[str], second: Sequence[str]) -> PositionBias:
    """Consistency of verdicts across the two presentation orders (both expressed as 'A', 'B' or 'tie')."""
    if len(first) != len(second) or not first:
        raise UsageError("position bias needs one verdict per order for the same, non-empty list of items")
    pairs = [(_norm(x), _norm(y)) for x, y in zip(first, second, strict=True)]
    n = len(pairs)
    consistent = sum(x == y for x, y in pairs)
    picked_first = sum((x, y) == ("a", "b") for x, y in pairs)
    picked_second = sum((x, y) == ("b", "a") for x, y in pairs)
    return PositionBias(
        n=n,
        consistent_rate=consistent / n,
        inconsistent_rate=(n - consistent) / n,
        first_position_rate=picked_first / n,
        second_position_rate=picked_second / n,
    )


def length_bias(
    lengths: Sequence[float], scores: Sequence[float], *, method: Literal["spearman", "pearson"] = "spearman"
) -> Correlation:
    """Correlation between answer length and the judge's score (single grading).

    For pairwise verdicts pass the length difference (A minus B) and A's result (1 win, 0.5 tie, 0 loss).
    NaN r when either side is constant.
    """
    x, y = np.asarray(lengths, dtype=float), np.asarray(scores, dtype=float)
    if x.shape != y.shape or x.size < 3:
        raise UsageError("length bias needs at least 3 (length, score) pairs of equal count")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return Correlation(method=method, r=math.nan, p_value=math.nan, n=int(x.size))
    result = _sps().spearmanr(x, y) if method == "spearman" else _sps().pearsonr(x, y)
    return Correlation(method=method, r=float(result[0]), p_value=float(result[1]), n=int(x.size))


def longer_wins_rate(len_a: Sequence[float], len_b: Sequence[float], outcomes: Sequence[str]) -> float:
    """Among decided pairs of answers of different lengths, the share won by the longer (0.5: no bias)."""
    if not (len(len_a) == len(len_b) == len(outcomes)):
        raise UsageError("longer_wins_rate needs one length per side and one outcome per pair")
    decided = [
        (la > lb) == (_norm(o) == "a")
        for la, lb, o in zip(len_a, len_b, outcomes, strict=True)
        if _norm(o) != "tie" and la != lb
    ]
    return sum(decided) / len(decided) if decided else math.nan
