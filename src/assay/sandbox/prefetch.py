"""Prefetching: the calls a check makes with literal arguments are sent along with the program, so most
checks cost one round trip to the sandbox instead of one per assert.

Only the trusted side decides what to ask: the calls are read from the check's own source (never run), their
answers are plain data like any other (a program gains nothing by knowing it was asked early), and a call the
check makes that was not prefetched (computed arguments, a second identical call) simply goes over the pipe.
The one visible difference from running the check live: every prefetched call runs, even after an earlier
assert would have stopped the check, so a program that loops on a later input times out instead of failing.
"""

from __future__ import annotations

import ast
from typing import Any

from assay.sandbox.jobs import Check

MAX_CALLS = 1000


def _aliases(setup: ast.Module, tests: list[ast.Module], remote: set[str]) -> dict[str, str]:
    """`check(candidate)` called as `check(entry)`: calls of `candidate` inside are calls of `entry`."""
    params: dict[str, list[str]] = {
        node.name: [a.arg for a in node.args.args] for node in setup.body if isinstance(node, ast.FunctionDef)
    }
    alias: dict[str, str] = {}
    for tree in tests:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in params:
                for param, arg in zip(params[node.func.id], node.args, strict=False):
                    if isinstance(arg, ast.Name) and arg.id in remote:
                        alias[param] = arg.id
    return alias


def _literal_call(node: ast.Call) -> tuple[list[Any], dict[str, Any]] | None:
    if any(isinstance(a, ast.Starred) for a in node.args) or any(k.arg is None for k in node.keywords):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {str(k.arg): ast.literal_eval(k.value) for k in node.keywords}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return args, kwargs


def literal_calls(check: Check) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """(remote name, args, kwargs) of every call with literal arguments in the check, in source order."""
    try:
        setup = ast.parse(check.setup)
        tests = [ast.parse(t) for t in check.tests]
    except SyntaxError:
        return []
    remote = set(check.remote)
    names = {n: n for n in remote} | _aliases(setup, tests, remote)
    found: list[tuple[int, int, int, str, list[Any], dict[str, Any]]] = []
    for order, tree in enumerate([setup, *tests]):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
                literal = _literal_call(node)
                if literal is not None:
                    found.append((order, node.lineno, node.col_offset, names[node.func.id], *literal))
    found.sort(key=lambda c: c[:3])
    return [(name, args, kwargs) for *_, name, args, kwargs in found[:MAX_CALLS]]
