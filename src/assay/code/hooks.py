"""The runner's scorer hook for code tasks: extract code, run it in the sandbox, report pass@k.

A code task's YAML names `scorer: assay.code.hooks:score_code` and `metadata.problems` (humaneval, mbpp,
example or a suite file); every sample's `doc["task_id"]` names its problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from assay.code.extract import extract_code
from assay.code.score import MIN_TIME, TIME_FACTOR, load_problems, score_completions
from assay.metrics.passk import pass_at_k
from assay.records import Sample, Score
from assay.sandbox import Outcome
from assay.tasks.scoring import Scored, ScoringContext
from assay.tasks.spec import TaskSpec

OUTPUT_KEPT = 4000  # characters of the program's stdout and of its stderr kept in the samples file


def _problem_id(spec: TaskSpec, sample: Sample) -> str:
    return f"{spec.code.task_id_prefix}{sample.doc['task_id']}"


def score_code(
    spec: TaskSpec, samples: Sequence[Sample], outputs: Sequence[tuple[str, ...]], ctx: ScoringContext
) -> Scored:
    """pass@k for every k <= n (n = outputs per sample), plus the per-sample verdicts of the first output."""
    source = spec.code.problems
    if source.endswith(".jsonl") and spec.source and not Path(source).is_absolute():
        source = str(Path(spec.source).parent / source)
    problems = load_problems(source, Path(ctx.data_dir) if ctx.data_dir else None)
    mode: Literal["body", "program"] = spec.code.completion
    jobs: list[tuple[str, str]] = []
    for sample, texts in zip(samples, outputs, strict=True):
        pid = _problem_id(spec, sample)
        jobs.extend((pid, extract_code(t, problems[pid].entry_point, mode)) for t in texts)
    opts = ctx.options  # a task's `scorer_options`: timeout, workers, min_time, time_factor
    timeout = opts.get("timeout")
    outcomes = score_completions(
        problems,
        jobs,
        workers=int(opts.get("workers", 2)),
        timeout=float(timeout) if timeout else None,
        min_time=float(opts.get("min_time", MIN_TIME)),
        time_factor=float(opts.get("time_factor", TIME_FACTOR)),
        sandbox=ctx.sandbox,  # None: a local pool of `workers`, started and closed here
    )
    results: list[tuple[Score, ...]] = []
    extras: list[dict[str, Any]] = []
    offset = 0
    for sample, texts in zip(samples, outputs, strict=True):
        mine = outcomes[offset : offset + len(texts)]
        offset += len(texts)
        n, c = len(mine), sum(o.passed for o in mine)
        ks = [k for k in spec.code.k if k <= n]
        scores = [Score(metric=f"pass@{k}", value=pass_at_k(n, c, k)) for k in ks]
        scores.append(Score(metric="passed_first", value=float(mine[0].passed), detail=mine[0].result))
        results.append(tuple(scores))
        extras.append({"code": execution_record(mine[0], problems[_problem_id(spec, sample)].check.tests)})
    return Scored(scores=results, extras=extras)


def execution_record(outcome: Outcome, tests: Sequence[str]) -> dict[str, Any]:
    """What the explorer shows of the first output's execution: verdict, the first failing test and its source,
    and the program's stdout and stderr (each cut to OUTPUT_KEPT characters)."""
    failing = next((t for t in outcome.tests if not t.passed), None)
    return {
        "status": outcome.status,
        "reason": outcome.reason,
        "failing_index": None if failing is None else failing.index,
        "failing_test": "" if failing is None or failing.index >= len(tests) else tests[failing.index],
        "failing_reason": "" if failing is None else failing.reason,
        "stdout": outcome.stdout[-OUTPUT_KEPT:],
        "stderr": outcome.stderr[-OUTPUT_KEPT:],
    }  # no timings: a run and its resumed or re-run copy write the same rows
