"""AST metrics: normalization and the Zhang-Shasha tree edit distance against a brute-force definition."""

from __future__ import annotations

import ast
import time
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from assay.metrics.code_ast import (
    _children,
    _label,
    ast_equal,
    ast_similarity,
    normalized_tree,
    tree_edit_distance,
)

Forest = tuple[tuple[str, "Forest"], ...]


def _as_forest(node: ast.AST) -> Forest:
    return ((_label(node), tuple(t for c in _children(node) for t in _as_forest(c))),)


@cache
def _forest_distance(f: Forest, g: Forest) -> int:
    """The textbook recursive definition of ordered forest edit distance (exponential without the cache)."""
    if not f and not g:
        return 0
    if not f:
        return _size(g)
    if not g:
        return _size(f)
    (lf, kf), (lg, kg) = f[-1], g[-1]
    return min(
        _forest_distance(f[:-1] + kf, g) + 1,  # delete f's rightmost root
        _forest_distance(f, g[:-1] + kg) + 1,  # insert g's rightmost root
        _forest_distance(kf, kg) + _forest_distance(f[:-1], g[:-1]) + (lf != lg),  # match the two roots
    )


def _size(f: Forest) -> int:
    return sum(1 + _size(kids) for _, kids in f)


SNIPPETS = st.lists(
    st.sampled_from(
        ["x = a + 1", "y = f(x)", "return x", "z = [i for i in y]", "x = a - 1", "if x:\n  y = 2"]
    ),
    min_size=1,
    max_size=3,
).map("\n".join)


@settings(max_examples=60, deadline=None)
@given(SNIPPETS, SNIPPETS)
def test_zhang_shasha_equals_recursive_definition(a: str, b: str) -> None:
    ta, tb = ast.parse(a), ast.parse(b)
    assert tree_edit_distance(ta, tb) == _forest_distance(_as_forest(ta), _as_forest(tb))


def test_known_distances() -> None:
    assert tree_edit_distance(ast.parse("f(a)"), ast.parse("f(a, b)")) == 1  # insert one Name
    assert tree_edit_distance(ast.parse("x = 1"), ast.parse("x = 1")) == 0


def test_normalization_renames_bound_names_only() -> None:
    tree = normalized_tree("import os\ndef go(path):\n    '''Doc.'''\n    return os.path.join(path, 'x')")
    assert isinstance(tree, ast.Module) and normalized_tree("def broken(:") is None
    # docstring gone, bound names canonical, attribute names (`path`, `join`) kept
    assert ast.unparse(tree) == "import os as v0\n\ndef v1(v2):\n    return v0.path.join(v2, 'x')"
    assert ast_equal("for i in range(3): print(i)", "for k in range(3):\n    print(k)") == 1.0
    assert ast_equal("for i in range(3): print(i)", "for k in range(3):\n    input(k)") == 0.0


def test_similarity_orders_near_and_far_programs() -> None:
    ref = "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)"
    near = ref.replace("total / len(xs)", "total / max(len(xs), 1)")
    far = "def mean(xs):\n    return sorted(xs)[0]"
    s_near, s_far = ast_similarity(near, ref), ast_similarity(far, ref)
    assert s_near is not None and s_far is not None
    assert 1.0 > s_near > s_far >= 0.0


def test_similarity_cost_is_modest_on_humaneval_sized_code() -> None:
    body = "\n".join(f"    v{i} = sorted(xs)[{i}] + len(xs) * {i}" for i in range(25))
    code = f"def f(xs):\n{body}\n    return xs"
    start = time.perf_counter()
    assert ast_similarity(code.replace("sorted", "reversed"), code) is not None
    assert time.perf_counter() - start < 10.0
