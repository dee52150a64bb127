"""`assay compare RUN_A RUN_B`: paired significance tests between two runs on the same sample ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast

import typer

from assay.cli._table import Cell, Col, print_table
from assay.cli.common import console
from assay.errors import UsageError
from assay.stats.compare import Comparison, compare_runs, comparison_rows, markdown_table
from assay.stats.paired import TestName

_STYLE = {"A better": "green", "B better": "red", "no significant difference": "dim"}


def _names(values: list[str]) -> list[str] | None:
    """Repeated and comma-separated option values, flattened; None when none was given."""
    out = [part.strip() for value in values for part in value.split(",") if part.strip()]
    return out or None


def _print(comparisons: list[Comparison], alpha: float) -> None:
    first = comparisons[0]
    header, rows = comparison_rows(comparisons)
    cols = [Col(name, right=name not in {"task", "metric", "test", "verdict", "CI"}) for name in header]
    cells: list[list[Cell]] = [
        [*row[:-1], (row[-1], _STYLE[c.verdict])] for c, row in zip(comparisons, rows, strict=True)
    ]
    print_table(
        console, cols, cells,
        title=f"A = {first.model_a} ({first.run_a})   B = {first.model_b} ({first.run_b})",
        caption=f"verdicts at alpha = {alpha} on Holm-adjusted p-values; W/T/L counts samples where A "
        "scored higher / the same / lower",
    )  # fmt: skip


def compare(
    run_a: str = typer.Argument(..., help="Run A: a run id (under --runs-dir) or a run folder."),
    run_b: str = typer.Argument(..., help="Run B: a run id or a run folder."),
    metric: list[str] = typer.Option([], "--metric", "-m", help="Metrics to compare (default: all shared)."),
    task: list[str] = typer.Option([], "--task", "-t", help="Tasks to compare (default: all shared)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise significance level (Holm)."),
    test: str = typer.Option(
        "auto",
        "--test",
        help="auto (McNemar exact for 0/1 scores, else bootstrap), mcnemar, bootstrap or permutation.",
    ),
    confidence: float = typer.Option(0.95, "--confidence", help="Level of the difference's interval."),
    resamples: int = typer.Option(10_000, "--resamples", help="Bootstrap / permutation resamples."),
    seed: int = typer.Option(0, "--seed", help="Seed of the resampling."),
    model_a: str | None = typer.Option(None, "--model-a", help="Model of run A (when it has several)."),
    model_b: str | None = typer.Option(None, "--model-b", help="Model of run B (when it has several)."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run ids are looked up."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Also write the table as Markdown here."),
    as_json: bool = typer.Option(False, "--json", help="Print the comparisons as JSON instead of a table."),
) -> None:
    """Compare two runs sample by sample: per task and metric the paired difference with its confidence
    interval, a p-value (McNemar exact for 0/1 outcomes, paired bootstrap otherwise; --test permutation for
    the sign-flip test), the Holm-adjusted p-value across all comparisons, win/tie/loss counts and a verdict.

    Samples are paired by sample_id; exit 2 if the runs share none.
    """
    if test not in {"auto", "mcnemar", "bootstrap", "permutation"}:
        raise UsageError(f"unknown test {test!r}", hint="auto, mcnemar, bootstrap or permutation")
    for name, value in (("--alpha", alpha), ("--confidence", confidence)):
        if not 0 < value < 1:
            raise UsageError(f"{name} must be between 0 and 1 (exclusive), got {value:g}")
    if resamples < 100:
        raise UsageError(f"--resamples {resamples} is too few for a p-value", hint="use at least 1000")
    comparisons = compare_runs(
        run_a, run_b, metrics=_names(metric), tasks=_names(task), model_a=model_a, model_b=model_b,
        alpha=alpha, test=cast(TestName, test), confidence=confidence, n_resamples=resamples, seed=seed,
        runs_dir=runs_dir,
    )  # fmt: skip
    if not comparisons:
        raise UsageError("no metric is scored on both sides of any shared sample", hint="check --metric")
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(markdown_table(comparisons, title="assay compare"), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps([c.to_json() for c in comparisons], indent=2))
    else:
        _print(comparisons, alpha)


def register(app: typer.Typer) -> None:
    """Add `assay compare` to the CLI."""
    app.command("compare")(compare)
