"""Python code metrics on the abstract syntax tree: does it parse, is it the reference up to names, how close.

Normalization (used by `ast_equal` and `ast_similarity`), so that only program structure counts:
- formatting and comments vanish by parsing; a snippet indented as a whole is dedented first;
- docstrings (a string-constant first statement of a module, class or function) are removed;
- identifiers the code binds (assignment targets, parameters, function and class names, loop, `with`,
  `except` and comprehension targets, import aliases) are renamed to v0, v1, ... in order of first
  appearance. Names the code only reads (builtins such as `len`, imported modules' attributes, keyword
  argument names) keep their spelling, because `len(x)` and `sum(x)` are different programs.
  Renaming is global (one namespace for the whole snippet): consistent, but it does not model scopes.

`ast_similarity` is TSED (Song et al. 2024, "Revisiting code similarity evaluation with abstract syntax
tree edit distance"): max(0, 1 - TED / max(|T1|, |T2|)), where TED is the Zhang-Shasha (1989) ordered
tree edit distance with unit costs and |T| counts nodes.
"""

from __future__ import annotations

import ast
import textwrap
from functools import lru_cache

_SCOPES = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
# expression contexts (Load/Store/Del) double the tree without saying anything the parent does not;
# operators (Add, And, Not, Lt, ...) become part of their parent's label, so a changed operator is one relabel
_SKIP = (ast.expr_context,)
_FOLDED = (ast.operator, ast.boolop, ast.unaryop, ast.cmpop)


def parse(code: str) -> ast.Module | None:
    """Parse Python source (dedented first); None when it is not valid Python."""
    try:
        return ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):  # ValueError: source with NUL bytes
        return None
    except (MemoryError, RecursionError):  # pathologically nested input is not a program we can score
        return None


def _strip_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, _SCOPES) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = node.body[1:]


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.ExceptHandler):
            if node.name:  # an `except E:` without `as` binds nothing
                bound.add(node.name)
        elif isinstance(node, ast.alias):
            bound.add(node.asname or node.name.split(".")[0])
    return bound


class _Renamer(ast.NodeTransformer):
    """Rename bound identifiers to v0, v1, ... in order of first appearance (a consistent bijection)."""

    def __init__(self, bound: set[str]) -> None:
        self.bound = bound
        self.mapping: dict[str, str] = {}

    def _new(self, name: str) -> str:
        if name not in self.bound:
            return name
        if name not in self.mapping:
            self.mapping[name] = f"v{len(self.mapping)}"
        return self.mapping[name]

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._new(node.arg)
        return self.generic_visit(node)

    def _visit_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> ast.AST:
        node.name = self._new(node.name)
        return self.generic_visit(node)

    visit_FunctionDef = _visit_def
    visit_AsyncFunctionDef = _visit_def
    visit_ClassDef = _visit_def

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self._new(node.name)
        return self.generic_visit(node)

    def visit_alias(self, node: ast.alias) -> ast.AST:
        # `import math` and `import math as m` both bind a name for the module: make both `import math as vN`
        node.asname = self._new(node.asname or node.name.split(".")[0])
        return node

    def _visit_scope_names(self, node: ast.Global | ast.Nonlocal) -> ast.AST:
        node.names = [self._new(n) for n in node.names]
        return node

    visit_Global = _visit_scope_names
    visit_Nonlocal = _visit_scope_names


def normalized_tree(code: str) -> ast.Module | None:
    """The normalized AST of `code` (no docstrings, canonical bound names); None if it does not parse."""
    tree = parse(code)
    if tree is None:
        return None
    _strip_docstrings(tree)
    result = _Renamer(_bound_names(tree)).visit(tree)
    assert isinstance(result, ast.Module)
    return result


@lru_cache(maxsize=512)
def _normalized_dump(code: str) -> str | None:
    tree = normalized_tree(code)
    return None if tree is None else ast.dump(tree)


def ast_parses(prediction: str, reference: str = "") -> float:
    """1.0 when the prediction is valid Python, else 0.0 (the reference is not used)."""
    return 0.0 if parse(prediction) is None else 1.0


def ast_equal(prediction: str, reference: str) -> float | None:
    """1.0 when both normalize to the same AST, else 0.0; None (unscored) if the reference does not parse."""
    ref = _normalized_dump(reference)
    if ref is None:
        return None
    return float(_normalized_dump(prediction) == ref)


# ------------------------------------------------------------------------------------ tree edit distance


def _label(node: ast.AST) -> str:
    """A node's label: its type plus its scalar fields (names, constants, operator flags)."""
    parts = [type(node).__name__]
    for name, value in ast.iter_fields(node):
        if isinstance(value, _FOLDED):
            parts.append(f"{name}={type(value).__name__}")
        elif isinstance(value, list) and value and isinstance(value[0], _FOLDED):
            parts.append(f"{name}={[type(v).__name__ for v in value]}")
        elif isinstance(value, ast.AST) or (
            isinstance(value, list) and value and isinstance(value[0], ast.AST)
        ):
            continue  # child nodes are nodes of their own
        elif value is not None and value != []:  # absent fields say nothing
            parts.append(f"{name}={value!r}")
    return " ".join(parts)


def _children(node: ast.AST) -> list[ast.AST]:
    return [c for c in ast.iter_child_nodes(node) if not isinstance(c, _SKIP + _FOLDED)]


def _tree_arrays(root: ast.AST) -> tuple[list[str], list[int]]:
    """Postorder labels and leftmost-leaf indices, via subtree sizes (leftmost(i) = i - size(i) + 1)."""
    labels: list[str] = []
    sizes: list[int] = []
    stack: list[tuple[ast.AST, int]] = [(root, -1)]  # (node, -1) = enter; (node, start) = leave
    while stack:
        node, start = stack.pop()
        if start >= 0:
            labels.append(_label(node))
            sizes.append(len(labels) - start)
            continue
        stack.append((node, len(labels)))
        for kid in reversed(_children(node)):
            stack.append((kid, -1))
    return labels, [i - sizes[i] + 1 for i in range(len(labels))]


def _keyroots(leftmost: list[int]) -> list[int]:
    """Nodes that are the highest with their leftmost leaf: the roots of Zhang-Shasha's subproblems."""
    last: dict[int, int] = {}
    for i, left in enumerate(leftmost):
        last[left] = i
    return sorted(last.values())


def tree_edit_distance(a: ast.AST, b: ast.AST) -> int:
    """Zhang-Shasha ordered tree edit distance with unit insert, delete and relabel costs."""
    la, lma = _tree_arrays(a)
    lb, lmb = _tree_arrays(b)
    n, m = len(la), len(lb)
    td = [[0] * m for _ in range(n)]
    for i in _keyroots(lma):
        for j in _keyroots(lmb):
            _forest_distance(i, j, la, lma, lb, lmb, td)
    return td[n - 1][m - 1]


def _forest_distance(
    i: int, j: int, la: list[str], lma: list[int], lb: list[str], lmb: list[int], td: list[list[int]]
) -> None:
    """Fill td for every pair of subtrees on the leftmost paths of keyroots i and j.

    The textbook double loop, unrolled by row kind (on i's leftmost path or not) with the column facts
    precomputed: this is the hot loop of every AST comparison.
    """
    li, lj = lma[i], lmb[j]
    rows, cols = i - li + 2, j - lj + 2
    fd = [[0] * cols for _ in range(rows)]
    fd[0] = list(range(cols))
    q_of = [0] + [lmb[lj + y - 1] - lj for y in range(1, cols)]  # forest offset of column y's leftmost leaf
    labels_b = [""] + lb[lj : j + 1]
    for x in range(1, rows):
        i1 = li + x - 1
        fdx, up = fd[x], fd[x - 1]
        fdx[0] = left = x
        tdi = td[i1]
        if lma[i1] == li:  # row on i's leftmost path: whole-tree distances are born here
            label = la[i1]
            for y in range(1, cols):
                j1 = lj + y - 1
                best = up[y] + 1
                if left + 1 < best:
                    best = left + 1
                if q_of[y] == 0:
                    diag = up[y - 1] + (label != labels_b[y])
                    if diag < best:
                        best = diag
                    tdi[j1] = best
                else:
                    sub = q_of[y] + tdi[j1]  # fd[0][q] == q: the forest before it, all inserted
                    if sub < best:
                        best = sub
                fdx[y] = left = best
        else:
            fdp = fd[lma[i1] - li]
            for y in range(1, cols):
                best = up[y] + 1
                if left + 1 < best:
                    best = left + 1
                sub = fdp[q_of[y]] + tdi[lj + y - 1]
                if sub < best:
                    best = sub
                fdx[y] = left = best


def tree_size(tree: ast.AST) -> int:
    """Number of nodes counted by the tree edit distance (expression contexts excluded)."""
    return len(_tree_arrays(tree)[0])


def ast_similarity(prediction: str, reference: str) -> float | None:
    """TSED in [0, 1]: max(0, 1 - TED / max(|T_pred|, |T_ref|)) on normalized trees.

    0.0 when the prediction does not parse; None (unscored) when the reference does not parse.
    Time grows faster than the product of the two tree sizes: about 15 ms per pair for HumanEval solutions
    (36 nodes median after normalization, 133 at most), several seconds at 600 nodes. Repeated pairs are
    answered from a cache.
    """
    return _similarity(prediction, reference)


@lru_cache(maxsize=1024)
def _similarity(prediction: str, reference: str) -> float | None:
    ref = normalized_tree(reference)
    if ref is None:
        return None
    pred = normalized_tree(prediction)
    if pred is None:
        return 0.0
    if ast.dump(pred) == ast.dump(ref):
        return 1.0
    distance = tree_edit_distance(pred, ref)
    return max(0.0, 1.0 - distance / max(tree_size(pred), tree_size(ref)))
