"""A code problem: what the model is shown, how its completion becomes a program, and the hidden check."""

from __future__ import annotations

import ast
import builtins
import sys
from dataclasses import dataclass

from assay.sandbox.jobs import Check, Job, Limits


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """One problem of a code suite.

    The program run in the sandbox is `program_prefix + completion` (HumanEval: the prompt's stub is
    continued; MBPP: the completion is the whole program). `reference` is a completion known to pass, when
    there is one: its own CPU time sets the default time limit.
    """

    task_id: str
    prompt: str
    entry_point: str
    check: Check
    program_prefix: str = ""
    reference: str | None = None
    suite: str = ""

    def program(self, completion: str) -> str:
        """The full program for a completion."""
        return self.program_prefix + completion

    def job(self, completion: str, limits: Limits, *, whole_program: bool = False) -> Job:
        """The sandbox job that checks a completion (with `whole_program`, a text that is the program itself,
        as EvalPlus's `solution` is)."""
        program = completion if whole_program else self.program(completion)
        return Job(program=program, check=self.check, limits=limits)


def check_function_style(task_id: str, prompt: str, test: str, entry_point: str) -> Check:
    """HumanEval's shape: `test` defines check(candidate); the prompt's helpers are available to it."""
    return Check(
        prelude=prompt if _compiles(prompt) else "",
        setup=test,
        tests=(f"check({entry_point})",),
        remote=(entry_point,),
        key=task_id,
    )


def assert_style(task_id: str, tests: list[str], setup: str, entry_point: str) -> Check:
    """MBPP's shape: assert lines that call the program's functions by name, after optional setup code.

    Names the tests use but do not define come from the program (remote), except builtins and modules, which
    the trusted side provides itself: a program that redefines `round` cannot change what the tests compute.
    The entry point is always remote, even when it shadows a builtin (MBPP's `sum`).
    """
    free = _free_names("\n".join([setup, *tests]))
    modules = sorted(n for n in free if n in sys.stdlib_module_names and n != entry_point)
    remote = {entry_point} | {n for n in free if not hasattr(builtins, n) and n not in modules}
    prelude = "".join(f"import {m}\n" for m in modules)
    return Check(prelude=prelude, setup=setup, tests=tuple(tests), remote=tuple(sorted(remote)), key=task_id)


def first_called_name(test: str) -> str:
    """The function an assert line tests: the first call by plain name (`assert f(1) == 2` -> "f")."""
    for node in ast.walk(ast.parse(test)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id
    raise ValueError(f"no function call in test {test!r}")


def _free_names(source: str) -> set[str]:
    tree = ast.parse(source)
    loaded: set[str] = set()
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return loaded - bound


def _compiles(source: str) -> bool:
    try:
        compile(source, "<prompt>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True
