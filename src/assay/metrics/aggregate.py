"""Corpus-level aggregation: per-sample scores -> MetricValue (mean with standard error), and groups.

Standard errors are those lm-evaluation-harness reports: for a task, the standard error of the mean with
the sample standard deviation (ddof=1); for a group weighted by size, the pooled sample standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from assay.records import MetricValue, Score

if TYPE_CHECKING:
    from assay.metrics.catalog import MetricSpec

STDERR_MEAN = "sample std (ddof=1) / sqrt(n)"
STDERR_POOLED = "pooled sample stderr over subtasks (weighted by size)"


def mean_metric(values: Sequence[float], higher_is_better: bool = True) -> MetricValue | None:
    """Mean and its standard error; None when nothing was scored."""
    n = len(values)
    if n == 0:
        return None
    mean = math.fsum(values) / n
    stderr = None
    if n > 1:
        var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
        stderr = math.sqrt(var / n)
    return MetricValue(
        value=mean, stderr=stderr, n=n, higher_is_better=higher_is_better, stderr_method=STDERR_MEAN
    )


def aggregate_scores(
    per_sample: Sequence[Sequence[Score]],
    higher: dict[str, bool] | None = None,
    metrics: Mapping[str, MetricSpec] | None = None,
) -> dict[str, MetricValue]:
    """Every metric present in the samples' scores; unscored (None) values are skipped, never counted as 0.

    A metric of the catalog (`metrics`, by reported name) takes its direction and corpus value from its own
    MetricSpec (`spec.aggregate`, the one definition `assay run` and `assay score` share); the standard error is
    the mean's, so a metric aggregated otherwise (a median) has none. Any other metric is the mean."""
    columns: dict[str, list[float]] = {}
    for scores in per_sample:
        for s in scores:
            bucket = columns.setdefault(s.metric, [])
            if s.value is not None:
                bucket.append(float(s.value))
    out = {}
    for name, values in columns.items():
        spec = (metrics or {}).get(name)
        mv = mean_metric(values, spec.higher_is_better if spec else (higher or {}).get(name, True))
        if mv is None:
            continue
        if spec is not None:
            mean = spec.aggregation == "mean"
            mv = replace(mv, value=spec.aggregate(values), stderr=mv.stderr if mean else None,
                         stderr_method=mv.stderr_method if mean else "")  # fmt: skip
        out[name] = mv
    return out


def pooled_group(members: Sequence[MetricValue]) -> MetricValue:
    """Size-weighted mean of subtask means with the pooled sample standard error (lm-eval's formula)."""
    sizes = [m.n for m in members]
    total = sum(sizes)
    mean = math.fsum(m.value * m.n for m in members) / total
    stderr = None
    if all(m.stderr is not None for m in members) and total > len(members):
        pooled_var = math.fsum(
            (n - 1) * (m.stderr or 0.0) ** 2 * n for n, m in zip(sizes, members, strict=True)
        )
        pooled_var /= total - len(members)
        stderr = math.sqrt(pooled_var / total)
    return MetricValue(value=mean, stderr=stderr, n=total, higher_is_better=members[0].higher_is_better,
                       stderr_method=STDERR_POOLED)  # fmt: skip
