"""pass@k: the product form equals the binomial definition; aggregation and edge cases."""

from __future__ import annotations

import math

import pytest

from assay.metrics.passk import feasible_ks, pass_at_k, pass_at_k_table, per_problem


def binomial_form(n: int, c: int, k: int) -> float:
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 37, 200])
def test_matches_the_binomial_definition(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(binomial_form(n, c, k), abs=1e-12)


def test_known_values():
    assert pass_at_k(10, 5, 1) == pytest.approx(0.5)
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 1, 10) == 1.0
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)
    assert pass_at_k(2000, 3, 1000) == pytest.approx(1 - (1000 * 999 * 998) / (2000 * 1999 * 1998))


def test_monotone_in_k_and_c():
    for c in range(11):
        values = [pass_at_k(10, c, k) for k in range(1, 11)]
        assert values == sorted(values)
    for k in range(1, 11):
        values = [pass_at_k(10, c, k) for c in range(11)]
        assert values == sorted(values)


@pytest.mark.parametrize("bad", [(5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_rejects_impossible_inputs(bad):
    with pytest.raises(ValueError):
        pass_at_k(*bad)


def test_table_mean_stderr_and_feasible_ks():
    results = {"a": [True, False, False, False], "b": [True, True, True, True], "c": [False] * 4}
    assert per_problem(results, 1) == {"a": 0.25, "b": 1.0, "c": 0.0}
    assert feasible_ks(results, [1, 2, 10]) == [1, 2]
    table = pass_at_k_table(results, [1, 2, 10])
    assert set(table) == {"pass@1", "pass@2"}
    mv = table["pass@1"]
    assert mv.value == pytest.approx((0.25 + 1.0 + 0.0) / 3) and mv.n == 3 and mv.higher_is_better
    values = [0.25, 1.0, 0.0]
    mean = sum(values) / 3
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / 2)
    assert mv.stderr == pytest.approx(sd / math.sqrt(3))
    assert pass_at_k_table({"only": [True]}, [1])["pass@1"].stderr is None
