"""Compare two runs sample by sample: one paired test per task x metric, Holm-corrected across all of them.

Rows of samples/<model>_<task>.jsonl are paired by `sample_id`; a sample unscored (None) on either side is
left out of that metric's pairs. `compare_runs` is what `assay compare` prints and what the CI gate
decides on.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from assay.errors import UsageError, did_you_mean
from assay.records import MetricValue, SampleResult
from assay.runs.folder import RunFolder, open_run
from assay.stats.multiple import holm
from assay.stats.paired import TestName, Verdict, WinTieLoss, paired_test, verdict


@dataclass(frozen=True, slots=True, kw_only=True)
class Comparison(WinTieLoss):
    """Run A against run B on one task and metric. `difference` = mean A - mean B over paired samples."""

    task: str
    metric: str
    model_a: str
    model_b: str
    run_a: str
    run_b: str
    higher_is_better: bool
    test: str
    n: int  # paired samples scored on both sides
    unpaired: int  # samples scored on one side only (left out)
    mean_a: float
    mean_b: float
    difference: float
    ci_low: float
    ci_high: float
    confidence: float
    p_value: float
    p_adjusted: float  # Holm-adjusted across every comparison of the same call
    wins: int  # samples where A scored higher than B
    ties: int
    losses: int
    verdict: Verdict  # decided on the adjusted p-value and the metric's direction

    def to_json(self) -> dict[str, Any]:
        """The fields plus win/tie/loss rates, as plain JSON values."""
        return {
            **asdict(self),
            "win_rate": self.win_rate,
            "tie_rate": self.tie_rate,
            "loss_rate": self.loss_rate,
        }


@dataclass(frozen=True, slots=True)
class _Side:
    run_id: str
    folder: RunFolder
    model: str
    tasks: dict[str, dict[str, MetricValue]]  # task -> {metric name: MetricValue}


def _side(run: str | Path, model: str | None, runs_dir: Path | None, label: str) -> _Side:
    folder = open_run(run, runs_dir)
    results = folder.record.task_results(groups=False)
    models = sorted({r.model for r in results})
    if model is None:
        if len(models) != 1:
            raise UsageError(
                f"run {label} ({folder.run_id}) has {len(models)} models: {', '.join(models) or 'none'}",
                hint=f"choose one with --model-{label.lower()}",
            )
        model = models[0]
    elif model not in models:
        hint = did_you_mean(model, models) or f"models in this run: {', '.join(models)}"
        raise UsageError(f"run {label} has no results for model {model!r}", hint=hint)
    tasks = {r.task: r.metrics for r in results if r.model == model}
    return _Side(folder.run_id, folder, model, tasks)


def _pick(requested: list[str] | None, available: list[str], what: str) -> list[str]:
    if not requested:
        return available
    for name in requested:
        if name not in available:
            hint = did_you_mean(name, available) or f"{what}s in both runs: {', '.join(available) or 'none'}"
            raise UsageError(f"no {what} {name!r} in both runs", hint=hint)
    return requested


def _values(rows: list[SampleResult], metric: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for row in rows:
        value = row.score(metric)
        if value is not None and math.isfinite(value):
            out[row.sample_id] = float(value)
    return out


def _direction(metric: str, a: _Side, b: _Side, task: str) -> bool:
    for side in (a, b):
        info = side.tasks.get(task, {}).get(metric)
        if info is not None:
            return info.higher_is_better
    from assay.metrics import METRICS  # the per-sample metric registry knows the direction of its own

    spec = METRICS.get(metric)
    return spec.higher_is_better if spec else True


@dataclass(frozen=True, slots=True)
class _Options:
    metrics: list[str] | None
    test: TestName
    confidence: float
    n_resamples: int
    seed: int


def _compare_task(
    a: _Side, b: _Side, task: str, opts: _Options
) -> tuple[bool, set[str], list[tuple[Any, ...]]]:
    """(shares a sample id?, metrics available, raw results) for one task."""
    rows_a, rows_b = a.folder.samples(a.model, task), b.folder.samples(b.model, task)
    shared = bool({r.sample_id for r in rows_a} & {r.sample_id for r in rows_b})
    available = {s.metric for r in rows_a for s in r.scores} & {s.metric for r in rows_b for s in r.scores}
    raw = []
    for metric in [m for m in (opts.metrics or sorted(available)) if m in available]:
        va, vb = _values(rows_a, metric), _values(rows_b, metric)
        ids = sorted(va.keys() & vb.keys())
        if not ids:
            continue
        result = paired_test(
            [va[i] for i in ids], [vb[i] for i in ids],
            test=opts.test, confidence=opts.confidence, n_resamples=opts.n_resamples, seed=opts.seed,
        )  # fmt: skip
        raw.append((task, metric, _direction(metric, a, b, task), len(va.keys() ^ vb.keys()), result))
    return shared, available, raw


def _with_holm(raw: list[tuple[Any, ...]], a: _Side, b: _Side, alpha: float) -> list[Comparison]:
    """Comparison records with Holm-adjusted p-values across the whole family, and their verdicts."""
    adjusted = holm([r[4].p_value for r in raw])
    return [
        Comparison(
            task=task,
            metric=metric,
            model_a=a.model,
            model_b=b.model,
            run_a=a.run_id,
            run_b=b.run_id,
            higher_is_better=hib,
            test=res.test,
            n=res.n,
            unpaired=unpaired,
            mean_a=res.mean_a,
            mean_b=res.mean_b,
            difference=res.difference,
            ci_low=res.ci_low,
            ci_high=res.ci_high,
            confidence=res.confidence,
            p_value=res.p_value,
            p_adjusted=p_adj,
            wins=res.wins,
            ties=res.ties,
            losses=res.losses,
            verdict=verdict(res.difference, p_adj, alpha, hib),
        )
        for (task, metric, hib, unpaired, res), p_adj in zip(raw, adjusted, strict=True)
    ]


def compare_runs(
    run_a: str | Path,
    run_b: str | Path,
    *,
    metrics: list[str] | None = None,
    tasks: list[str] | None = None,
    model_a: str | None = None,
    model_b: str | None = None,
    alpha: float = 0.05,
    test: TestName = "auto",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    runs_dir: Path | None = None,
) -> list[Comparison]:
    """Paired comparison of run A and run B for every shared task x metric (or those asked for).

    Raises UsageError when the runs share no task or no sample id, or when a named task or metric is in no
    task of both runs.
    """
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"alpha must be in (0, 1), got {alpha}")
    a, b = _side(run_a, model_a, runs_dir, "A"), _side(run_b, model_b, runs_dir, "B")
    shared_tasks = [t for t in a.tasks if t in b.tasks]
    if not shared_tasks:
        raise UsageError(
            "runs A and B share no task", hint=f"A has {sorted(a.tasks)}, B has {sorted(b.tasks)}"
        )
    opts = _Options(metrics or None, test, confidence, n_resamples, seed)
    raw: list[tuple[Any, ...]] = []
    any_shared, seen_metrics = False, set[str]()
    for task in _pick(tasks, shared_tasks, "task"):
        shared, available, task_raw = _compare_task(a, b, task, opts)
        any_shared, seen_metrics, raw = any_shared or shared, seen_metrics | available, raw + task_raw
    if not any_shared:
        raise UsageError(
            f"runs {a.run_id} and {b.run_id} share no sample ids",
            hint="compare runs of the same tasks on the same data (sample ids hash each row's content)",
        )
    _pick(metrics, sorted(seen_metrics), "metric")  # a requested metric found in no task is a typo
    return _with_holm(raw, a, b, alpha)


def _fmt(x: float, digits: int = 4) -> str:
    return "nan" if math.isnan(x) else f"{x:.{digits}g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.2e}"


def comparison_rows(comparisons: list[Comparison]) -> tuple[list[str], list[list[str]]]:
    """Header and formatted cells of the comparison table (shared by the terminal and Markdown views)."""
    header = [
        "task",
        "metric",
        "n",
        "mean A",
        "mean B",
        "A - B",
        "CI",
        "test",
        "p",
        "p (Holm)",
        "W/T/L",
        "verdict",
    ]
    rows = []
    for c in comparisons:
        level = f"{round(c.confidence * 100)}%"
        rows.append([
            c.task, c.metric, str(c.n), _fmt(c.mean_a), _fmt(c.mean_b), _fmt(c.difference),
            f"{level} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]", c.test, _fmt(c.p_value), _fmt(c.p_adjusted),
            f"{c.wins}/{c.ties}/{c.losses}", c.verdict,
        ])  # fmt: skip
    return header, rows


def markdown_table(comparisons: list[Comparison], title: str | None = None) -> str:
    """The comparisons as a Markdown document (for a CI job page or a PR comment)."""
    header, rows = comparison_rows(comparisons)
    lines = [f"# {title}", ""] if title else []
    if comparisons:
        c = comparisons[0]
        lines += [f"A = `{c.model_a}` (run `{c.run_a}`), B = `{c.model_b}` (run `{c.run_b}`)", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
