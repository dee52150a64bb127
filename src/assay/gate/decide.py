"""The gate's decision over paired comparisons (candidate = A, baseline = B in assay.stats.compare).

A comparison is a regression when the baseline is significantly better after Holm's correction across every
task and metric compared (verdict "B better") AND the candidate is worse by more than `min_delta` in the
metric's own units. Exit codes: 0 pass, 1 regression, 2 usage error (raised as AssayError before this).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assay.stats.compare import Comparison

PASS, FAIL = 0, 1


def worse_by(c: Comparison) -> float:
    """How much worse the candidate is, in the metric's units (negative when it is better)."""
    return -c.difference if c.higher_is_better else c.difference


def status(c: Comparison, min_delta: float) -> str:
    """regression | improvement | significant, below min delta | no significant difference."""
    if c.verdict == "B better":
        return "regression" if worse_by(c) > min_delta else "worse, within min delta"
    if c.verdict == "A better":
        return "improvement"
    return "no significant difference"


@dataclass(frozen=True)
class GateResult:
    comparisons: tuple[Comparison, ...]
    min_delta: float
    alpha: float

    @property
    def regressions(self) -> list[Comparison]:
        return [c for c in self.comparisons if status(c, self.min_delta) == "regression"]

    @property
    def exit_code(self) -> int:
        return FAIL if self.regressions else PASS

    @property
    def verdict(self) -> str:
        if self.regressions:
            names = ", ".join(f"{c.task}/{c.metric}" for c in self.regressions)
            return f"FAIL: significant regression on {names}"
        return "PASS: no significant regression larger than the minimum delta"


def decide(comparisons: Sequence[Comparison], *, min_delta: float, alpha: float) -> GateResult:
    """Wrap the (already Holm-corrected) comparisons with the gate's thresholds."""
    return GateResult(tuple(comparisons), float(min_delta), float(alpha))
