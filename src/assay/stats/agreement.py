"""Agreement between raters (judges, annotators).

Accuracy, Cohen's kappa, Fleiss' kappa and Krippendorff's alpha.

Labels may be any hashable values. Krippendorff's alpha takes a reliability matrix (one row per rater, one
column per item, None where a rater gave no value), as in Krippendorff (2011), "Computing Krippendorff's
alpha-reliability", whose worked examples the tests reproduce.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np

from assay.errors import UsageError

Level = Literal["nominal", "ordinal", "interval", "ratio"]


def _same_length(a: Sequence[object], b: Sequence[object]) -> None:
    if len(a) != len(b):
        raise UsageError(f"two raters must label the same items (got {len(a)} and {len(b)} labels)")
    if not a:
        raise UsageError("no labels to compare")


def accuracy(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Share of items on which the two raters give the same label."""
    _same_length(a, b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def cohen_kappa(
    a: Sequence[Hashable], b: Sequence[Hashable], *, weights: Literal["linear", "quadratic"] | None = None
) -> float:
    """Cohen's kappa of two raters; weighted kappa orders the categories by their sorted values.

    Returns NaN when chance agreement is perfect (both raters always use one and the same label).
    """
    _same_length(a, b)
    categories = sorted(set(a) | set(b), key=lambda v: (str(type(v)), v))  # type: ignore[arg-type]
    index = {c: i for i, c in enumerate(categories)}
    k = len(categories)
    table = np.zeros((k, k))
    for x, y in zip(a, b, strict=True):
        table[index[x], index[y]] += 1
    table /= table.sum()
    expected = np.outer(table.sum(axis=1), table.sum(axis=0))
    i, j = np.indices((k, k))
    if weights is None:
        disagreement = (i != j).astype(float)
    elif weights == "linear":
        disagreement = np.abs(i - j).astype(float)
    elif weights == "quadratic":
        disagreement = ((i - j) ** 2).astype(float)
    else:
        raise UsageError(f"unknown kappa weights {weights!r}", hint="None, 'linear' or 'quadratic'")
    chance = float((disagreement * expected).sum())
    if chance == 0:
        return math.nan
    return 1.0 - float((disagreement * table).sum()) / chance


def fleiss_kappa_from_counts(table: Sequence[Sequence[float]]) -> float:
    """Fleiss' kappa from an items x categories table of how many raters chose each category."""
    counts = np.asarray(table, dtype=float)
    if counts.ndim != 2 or counts.size == 0:
        raise UsageError("Fleiss' kappa needs an items x categories table of counts")
    raters = counts.sum(axis=1)
    if not np.allclose(raters, raters[0]) or raters[0] < 2:
        raise UsageError("Fleiss' kappa needs the same number (>= 2) of ratings for every item")
    n_items, m = counts.shape[0], raters[0]
    p_cat = counts.sum(axis=0) / (n_items * m)
    p_item = ((counts**2).sum(axis=1) - m) / (m * (m - 1))
    p_bar, p_e = float(p_item.mean()), float((p_cat**2).sum())
    return math.nan if p_e == 1.0 else (p_bar - p_e) / (1.0 - p_e)


def fleiss_kappa(ratings: Sequence[Sequence[Hashable]]) -> float:
    """Fleiss' kappa from one list of labels per item (every item rated by the same number of raters)."""
    categories = sorted({label for item in ratings for label in item}, key=str)
    table = [[Counter(item)[c] for c in categories] for item in ratings]
    return fleiss_kappa_from_counts(table)


def _delta(level: Level, values: np.ndarray, marginals: np.ndarray) -> np.ndarray:
    """Squared difference function delta^2(c, k) of Krippendorff's alpha for each pair of values."""
    c, k = np.meshgrid(values, values, indexing="ij")
    if level == "nominal":
        return (c != k).astype(float)
    if level == "interval":
        return (c - k) ** 2
    if level == "ratio":
        total = c + k
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total == 0, 0.0, ((c - k) / np.where(total == 0, 1, total)) ** 2)
    if level == "ordinal":
        cum = np.cumsum(marginals)
        i, j = np.meshgrid(np.arange(len(values)), np.arange(len(values)), indexing="ij")
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        between = cum[hi] - np.where(lo > 0, cum[lo - 1], 0.0)  # sum of n_g for g from lo to hi
        return (between - (marginals[i] + marginals[j]) / 2.0) ** 2
    raise UsageError(f"unknown measurement level {level!r}", hint="nominal, ordinal, interval or ratio")


def krippendorff_alpha(data: Sequence[Sequence[float | str | None]], *, level: Level = "nominal") -> float:
    """Krippendorff's alpha of a raters x items matrix (None = missing); items with < 2 values don't count."""
    if len({len(row) for row in data}) > 1:
        raise UsageError("Krippendorff's alpha needs one row per rater of equal length (None where missing)")
    columns = list(zip(*data, strict=True)) if data else []
    units = [[v for v in col if v is not None] for col in columns]
    units = [u for u in units if len(u) >= 2]
    if not units:
        raise UsageError("Krippendorff's alpha needs at least one item with two or more ratings")
    if level == "nominal":
        labels = sorted({v for u in units for v in u}, key=str)
        values = np.arange(len(labels), dtype=float)
        index = {v: i for i, v in enumerate(labels)}
    else:
        numbers = sorted({float(v) for u in units for v in u})  # type: ignore[arg-type]
        values = np.asarray(numbers)
        index = {v: i for i, v in enumerate(numbers)}
    coincidence = np.zeros((len(values), len(values)))
    for unit in units:
        ids = [index[v if level == "nominal" else float(v)] for v in unit]  # type: ignore[arg-type]
        weight = 1.0 / (len(ids) - 1)
        for x in range(len(ids)):
            for y in range(len(ids)):
                if x != y:
                    coincidence[ids[x], ids[y]] += weight
    marginals = coincidence.sum(axis=1)
    n = marginals.sum()
    delta = _delta(level, values, marginals)
    observed = float((coincidence * delta).sum()) / n
    expected = float((np.outer(marginals, marginals) * delta).sum()) / (n * (n - 1))
    return math.nan if expected == 0 else 1.0 - observed / expected
