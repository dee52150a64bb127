"""Prefetch planning: which calls of a check are read (never run) from its source."""

from __future__ import annotations

from assay.sandbox import Check
from assay.sandbox.prefetch import literal_calls


def test_calls_of_the_check_parameter_map_to_the_entry_point():
    check = Check(
        setup="def check(candidate):\n    assert candidate([1, 2], k=-3) == 0\n    assert candidate(x) == 1\n"
        "    assert abs(candidate(2.5)) < 1\n",
        tests=("check(solve)",),
        remote=("solve",),
    )
    assert literal_calls(check) == [("solve", [[1, 2]], {"k": -3}), ("solve", [2.5], {})]


def test_assert_lines_keep_source_order_and_skip_computed_arguments():
    check = Check(
        tests=("assert f(3) == g(1)", "assert f(*xs) == 1", "assert f(Node(1)) == 2", "assert f((1, 'a'))"),
        remote=("Node", "f"),
    )
    assert literal_calls(check) == [("f", [3], {}), ("Node", [1], {}), ("f", [(1, "a")], {})]


def test_broken_check_source_means_no_prefetch():
    assert literal_calls(Check(tests=("assert f(1 ==",), remote=("f",))) == []
