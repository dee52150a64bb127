"""The compare view's numbers: exactly what `assay compare` prints, from its own function."""

from __future__ import annotations

from typing import Any

from assay.errors import UsageError
from assay.stats.compare import compare_runs
from assay.view.runs import Unit, ViewRun


def compare_units(a: Unit, b: Unit, metric: str, runs: dict[str, ViewRun]) -> dict[str, Any]:
    """`assay compare RUN_A RUN_B --task T --metric M --model-a MA --model-b MB` as JSON (one comparison)."""
    run_a, run_b = runs[a.run_id], runs[b.run_id]
    if run_a.unfinished or run_b.unfinished:
        raise UsageError("assay compare reads finished runs only", hint="finish the run with assay run --resume")
    comparisons = compare_runs(
        run_a.path, run_b.path, metrics=[metric], tasks=[a.task], model_a=a.model, model_b=b.model
    )
    if not comparisons:
        raise UsageError(f"no sample of {a.task} is scored by {metric} on both sides")
    return comparisons[0].to_json()


def command_line(a: Unit, b: Unit, metric: str, runs: dict[str, ViewRun]) -> str:
    """The `assay compare` command that prints the same figures."""
    return (
        f"assay compare {runs[a.run_id].path} {runs[b.run_id].path} --task {a.task} --metric {metric} "
        f"--model-a {a.model} --model-b {b.model}"
    )
