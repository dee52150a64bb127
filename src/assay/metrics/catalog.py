"""The metric catalog: every per-sample text/code metric by name, with its direction, range and aggregation.

    spec = get_metric("rouge_l")
    spec("the cat sat", "the cat sat down")          # one sample; a list of references takes the best
    spec.aggregate([0.8, 1.0, None])                  # corpus value; None (unscored) is skipped

A metric function may return None for an ill-defined case (e.g. a reference that is not valid Python):
the sample is then unscored, never counted as 0.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assay.errors import UsageError, did_you_mean
from assay.metrics import code_ast, text

MetricFn = Callable[..., float | None]

AGGREGATIONS: dict[str, Callable[[Sequence[float]], float]] = {
    "mean": statistics.fmean,
    "median": statistics.median,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricSpec:
    """A named per-sample metric: `fn(prediction, reference, **options) -> float | None`."""

    name: str
    fn: MetricFn
    higher_is_better: bool
    low: float  # smallest possible value
    high: float  # largest possible value (math.inf when unbounded)
    description: str
    aggregation: str = "mean"
    symmetric: bool = False  # f(a, b) == f(b, a) for every pair
    kind: Literal["text", "code"] = "text"

    @property
    def best(self) -> float:
        """The value a perfect prediction gets."""
        return self.high if self.higher_is_better else self.low

    def __call__(self, prediction: str, reference: str | Sequence[str], **options: Any) -> float | None:
        """Score one prediction; with several references, the best score over them (None if all undefined)."""
        refs = [reference] if isinstance(reference, str) else list(reference)
        values = [v for v in (self.fn(prediction, r, **options) for r in refs) if v is not None]
        if not values:
            return None
        return max(values) if self.higher_is_better else min(values)

    def aggregate(self, values: Iterable[float | None]) -> float:
        """Corpus-level value over the scored samples (NaN when none is scored)."""
        scored = [v for v in values if v is not None]
        if not scored:
            return math.nan
        return float(AGGREGATIONS[self.aggregation](scored))


def _spec(name: str, fn: MetricFn, hib: bool, low: float, high: float, desc: str, **kw: Any) -> MetricSpec:
    return MetricSpec(name=name, fn=fn, higher_is_better=hib, low=low, high=high, description=desc, **kw)


METRICS: dict[str, MetricSpec] = {
    s.name: s
    for s in (
        _spec("exact_match", text.exact_match, True, 0.0, 1.0,
              "1 if prediction equals reference (stripped; options: ignore_case, ignore_punctuation, "
              "ignore_articles, ignore_whitespace)", symmetric=True),
        _spec("exact_match_norm", text.exact_match_normalized, True, 0.0, 1.0,
              "exact match after SQuAD normalization (case, punctuation, articles, whitespace)",
              symmetric=True),
        _spec("edit_distance", text.edit_distance, False, 0.0, math.inf,
              "Levenshtein distance in characters (rapidfuzz)", symmetric=True),
        _spec("edit_similarity", text.edit_similarity, True, 0.0, 1.0,
              "1 - Levenshtein distance / length of the longer string", symmetric=True),
        _spec("bleu", text.bleu, True, 0.0, 100.0, "sentence BLEU, sacrebleu (0-100)"),
        _spec("chrf", text.chrf, True, 0.0, 100.0, "sentence chrF, sacrebleu (0-100)"),
        _spec("rouge_l", text.rouge_l, True, 0.0, 1.0,
              "ROUGE-L F1 over lowercased alphanumeric tokens (as rouge-score, no stemming)", symmetric=True),
        _spec("ast_parses", code_ast.ast_parses, True, 0.0, 1.0,
              "1 if the prediction is valid Python", kind="code"),
        _spec("ast_equal", code_ast.ast_equal, True, 0.0, 1.0,
              "1 if the ASTs are equal after removing docstrings and renaming bound identifiers",
              symmetric=True, kind="code"),
        _spec("ast_similarity", code_ast.ast_similarity, True, 0.0, 1.0,
              "TSED: 1 - tree edit distance / larger tree size, on normalized ASTs",
              symmetric=True, kind="code"),
    )
}  # fmt: skip

# shorthands accepted wherever a list of metric names is (`ast` = the three AST metrics)
GROUPS: dict[str, tuple[str, ...]] = {"ast": ("ast_parses", "ast_equal", "ast_similarity")}


def get_metric(name: str) -> MetricSpec:
    """The metric registered as `name`; UsageError with a 'did you mean' hint otherwise."""
    if name in GROUPS:
        members = ", ".join(GROUPS[name])
        raise UsageError(
            f"{name!r} names several metrics ({members})", hint="look each one up by its own name"
        )
    try:
        return METRICS[name]
    except KeyError:
        hint = did_you_mean(name, [*METRICS, *GROUPS]) or "known metrics: " + ", ".join(sorted(METRICS))
        raise UsageError(f"unknown metric {name!r}", hint=hint) from None


def expand_metric_names(names: str | Iterable[str]) -> list[MetricSpec]:
    """Resolve a comma-separated list (or iterable) of metric names and groups, in order, without repeats."""
    parts = names.split(",") if isinstance(names, str) else list(names)
    out: dict[str, MetricSpec] = {}
    for raw in parts:
        name = raw.strip()
        if not name:
            continue
        for member in GROUPS.get(name, (name,)):
            out.setdefault(member, get_metric(member))
    if not out:
        raise UsageError("no metric named", hint="e.g. --metrics exact_match,edit_distance,ast")
    return list(out.values())
