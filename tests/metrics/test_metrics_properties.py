"""Properties every registered metric must have: range, identity, symmetry (where declared),
order invariance of the aggregation, multi-reference best-of, and lookup errors."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.errors import UsageError
from assay.metrics import METRICS, MetricSpec, expand_metric_names, get_metric

TEXT = st.lists(st.sampled_from([*"ab cA.,!\né", "the ", "an ", "The"]), max_size=15).map("".join)
# small valid Python programs built from a grammar, so code metrics are tested on code
_EXPR = st.sampled_from(["a", "b", "a + b", "a * 2", "len(a)", "f(a, b)", "[x for x in a]", "'s'", "1"])
_STMT = st.one_of(
    _EXPR.map(lambda e: f"c = {e}"),
    _EXPR.map(lambda e: f"return {e}"),
    _EXPR.map(lambda e: f"if {e}:\n        c = {e}"),
    st.just('"""docstring"""'),
    st.just("for i in a:\n        c = i  # loop"),
)
CODE = st.lists(_STMT, min_size=1, max_size=4).map(lambda body: "def f(a, b):\n    " + "\n    ".join(body))
SPECS = sorted(METRICS.values(), key=lambda s: s.name)


def _inputs(spec: MetricSpec) -> st.SearchStrategy[str]:
    return CODE if spec.kind == "code" else TEXT


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_range_identity_symmetry(spec: MetricSpec) -> None:
    @settings(max_examples=60, deadline=None)
    @given(_inputs(spec), _inputs(spec))
    def check(a: str, b: str) -> None:
        value = spec(a, b)
        assert isinstance(value, float) and math.isfinite(value)  # defined for every input here
        assert spec.low <= value <= spec.high
        assert spec(a, a) == spec.best
        if spec.symmetric:
            assert spec(b, a) == pytest.approx(value, abs=1e-12)

    check()


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_not_constant(spec: MetricSpec) -> None:
    """A metric that gives the best value to a different answer is not measuring anything."""
    pairs = {
        "text": ("the cat sat", "a dog ran far away"),
        "code": ("def f(a) return", "def f(a):\n    return a"),
    }
    pred, ref = pairs[spec.kind]
    assert spec(pred, ref) != spec.best


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_aggregation_is_order_invariant_and_skips_unscored(spec: MetricSpec) -> None:
    values = [
        spec("the cat sat", ref) for ref in ("the cat sat", "a cat sat", "dogs", "the cat sat down", "")
    ]
    shuffled = values[:]
    random.Random(0).shuffle(shuffled)
    assert spec.aggregate(values) == pytest.approx(spec.aggregate(shuffled), abs=1e-12)
    assert spec.aggregate([*values, None]) == pytest.approx(spec.aggregate(values), abs=1e-12)
    assert math.isnan(spec.aggregate([None]))


def test_multi_reference_takes_best_in_the_metrics_direction() -> None:
    assert get_metric("edit_distance")("kitten", ["sitting", "kitten!"]) == 1.0
    assert get_metric("exact_match")("Paris", ["London", "Paris"]) == 1.0
    assert get_metric("ast_equal")("x = 1", ["def (", "y = 1"]) == 1.0
    assert get_metric("ast_equal")("x = 1", ["def (", "if :"]) is None


def test_unknown_metric_suggests_close_names() -> None:
    with pytest.raises(UsageError) as info:
        get_metric("exact_mach")
    assert info.value.hint is not None and "'exact_match'" in info.value.hint
    with pytest.raises(UsageError, match="several metrics"):
        get_metric("ast")


def test_expand_groups_in_order_without_repeats() -> None:
    names = [s.name for s in expand_metric_names("exact_match, ast,ast_equal")]
    assert names == ["exact_match", "ast_parses", "ast_equal", "ast_similarity"]
    with pytest.raises(UsageError):
        expand_metric_names(" , ")
