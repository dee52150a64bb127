"""What the report shows, gathered from run folders: runs, their sample files, and per-sample diffs.

A diff pairs two (run, model) sides on the tasks they share and lists the samples, matched by sample_id,
whose outcome flipped. The report diffs each model's consecutive evaluations of a task (ordered by run time),
so every new run is shown against the one before it; callers may add explicit pairs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.errors import AssayError, UsageError, did_you_mean
from assay.records import RunRecord, SampleResult
from assay.runs.folder import RunFolder, match_run_id, open_run
from assay.runs.layout import PARTIAL_SUFFIX


@dataclass(frozen=True)
class RunInfo:
    """A finished run folder, read: its record and where it lives."""

    run: RunFolder

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def created(self) -> str:
        return self.run.record.created

    @property
    def record(self) -> RunRecord:
        return self.run.record

    @property
    def folder(self) -> Path:
        return self.run.path

    def units(self) -> list[tuple[str, str]]:
        """(model, task) pairs that have a samples file (groups have none of their own)."""
        return [(r.model, r.task) for r in self.record.results if self.run.has_samples(r.model, r.task)]


@dataclass(frozen=True)
class Side:
    run_id: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.model} @ {self.run_id}"


@dataclass(frozen=True)
class Flip:
    sample_id: str
    prompt: str
    target: Any
    before: Any  # prediction on side A
    after: Any  # prediction on side B
    value_a: float
    value_b: float
    choices: tuple[str, ...] = ()  # multiple choice: the texts the indices above refer to


@dataclass(frozen=True)
class TaskDiff:
    task: str
    metric: str  # the per-sample score compared ("acc" when present)
    shared: int  # sample ids scored on both sides
    mean_a: float
    mean_b: float
    gained: tuple[Flip, ...]  # better on B than on A
    lost: tuple[Flip, ...]  # worse on B than on A


@dataclass(frozen=True)
class RunDiff:
    a: Side
    b: Side
    tasks: tuple[TaskDiff, ...] = field(default_factory=tuple)

    @property
    def slug(self) -> str:
        return f"{self.a.run_id}_{_file_part(self.a.model)}__vs__{self.b.run_id}_{_file_part(self.b.model)}"


def _file_part(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text)


def find_runs(runs_dir: Path) -> list[RunInfo]:
    """Every finished run under runs_dir, oldest first; unreadable ones skipped.

    A folder without a summary (or a `.partial` one) is a run still going (or killed): it has nothing final
    to show.
    """
    runs: list[RunInfo] = []
    if not runs_dir.is_dir():
        return runs
    for folder in sorted(p for p in runs_dir.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL_SUFFIX)):
        try:
            runs.append(RunInfo(open_run(folder)))
        except AssayError:
            continue
    return sorted(runs, key=lambda r: (r.created, r.run_id))


def load_unit(run: RunInfo, model: str, task: str) -> list[SampleResult]:
    """The sample rows of one model on one task of a run ([] when the file is missing)."""
    return run.run.samples(model, task) if run.run.has_samples(model, task) else []


def _metric_of(rows: Sequence[SampleResult]) -> str | None:
    names: list[str] = []
    for row in rows:
        for score in row.scores:
            if score.metric not in names:
                names.append(score.metric)
    if not names:
        return None
    return "acc" if "acc" in names else names[0]


def _value(row: SampleResult, metric: str) -> float | None:
    value = row.score(metric)
    return float(value) if value is not None and math.isfinite(value) else None


def diff_task(task: str, rows_a: Sequence[SampleResult], rows_b: Sequence[SampleResult]) -> TaskDiff | None:
    """Samples of one task whose score changed from side A to side B (None when nothing can be paired)."""
    metric = _metric_of(rows_a)
    if metric is None:
        return None
    by_id_b = {r.sample_id: r for r in rows_b}
    gained: list[Flip] = []
    lost: list[Flip] = []
    va_all: list[float] = []
    vb_all: list[float] = []
    for ra in rows_a:
        rb = by_id_b.get(ra.sample_id)
        va = _value(ra, metric)
        vb = None if rb is None else _value(rb, metric)
        if rb is None or va is None or vb is None:
            continue
        va_all.append(va)
        vb_all.append(vb)
        if va != vb:
            flip = Flip(
                sample_id=ra.sample_id,
                prompt=ra.prompt,
                target=ra.target,
                before=ra.prediction,
                after=rb.prediction,
                value_a=va,
                value_b=vb,
                choices=ra.choices,
            )
            (gained if vb > va else lost).append(flip)
    if not va_all:
        return None
    n = len(va_all)
    return TaskDiff(task, metric, n, sum(va_all) / n, sum(vb_all) / n, tuple(gained), tuple(lost))


def consecutive_pairs(runs: Sequence[RunInfo]) -> list[tuple[Side, Side]]:
    """Automatic diffs: each model's evaluation of a task against its previous one (runs in time order), and
    in a run of several models, the first model against each other one."""
    last: dict[tuple[str, str], Side] = {}
    pairs: list[tuple[Side, Side]] = []
    for run in runs:
        models = sorted({m for m, _ in run.units()})
        pairs += [(Side(run.run_id, models[0]), Side(run.run_id, m)) for m in models[1:]]
        for model, task in run.units():
            side = Side(run.run_id, model)
            prev = last.get((model, task))
            if prev is not None and (prev, side) not in pairs:
                pairs.append((prev, side))
            last[(model, task)] = side
    return pairs


def build_diffs(
    runs: Sequence[RunInfo], pairs: Iterable[tuple[Side, Side]], limit: int = 100
) -> list[RunDiff]:
    """A RunDiff per pair (at most `limit`, newest pairs kept) over the tasks both sides have samples for."""
    by_id = {r.run_id: r for r in runs}
    out = []
    for a, b in list(pairs)[-limit:]:
        run_a, run_b = by_id.get(a.run_id), by_id.get(b.run_id)
        if run_a is None or run_b is None:
            continue
        tasks_a = {t for m, t in run_a.units() if m == a.model}
        tasks_b = {t for m, t in run_b.units() if m == b.model}
        diffs = []
        for task in sorted(tasks_a & tasks_b):
            d = diff_task(task, load_unit(run_a, a.model, task), load_unit(run_b, b.model, task))
            if d is not None:
                diffs.append(d)
        if diffs:
            out.append(RunDiff(a, b, tuple(diffs)))
    return out


def _side_spec(text: str, runs: dict[str, RunInfo]) -> tuple[RunInfo, str | None]:
    run_id, _, model = text.partition(":")
    # a run folder path works as well as its id, and so does a short id as tables print it (`c3a599`)
    run = runs.get(run_id) or runs.get(Path(run_id).name) or runs.get(match_run_id(run_id, runs) or "")
    if run is None:
        known = sorted(runs)
        raise UsageError(
            f"--diff names run {run_id!r}, which is not a finished run in the runs folder",
            hint=did_you_mean(run_id, known) or f"runs: {', '.join(known[-5:]) or '(none)'}",
        )
    return run, (model or None)


def explicit_pairs(specs: Iterable[str], runs: Sequence[RunInfo]) -> list[tuple[Side, Side]]:
    """Parse `--diff RUN_A[:MODEL],RUN_B[:MODEL]` options into sides.

    Without models, models of the same name are paired, or the only model of each run with each other.
    """
    by_id = {r.run_id: r for r in runs}
    pairs = []
    for spec in specs:
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) != 2 or not all(parts):
            raise UsageError(
                f"--diff {spec!r} is not of the form RUN_A,RUN_B", hint="e.g. --diff RUN1,RUN2:model"
            )
        (run_a, model_a), (run_b, model_b) = (_side_spec(p, by_id) for p in parts)
        models_a = [model_a] if model_a else sorted({m for m, _ in run_a.units()})
        models_b = [model_b] if model_b else sorted({m for m, _ in run_b.units()})
        common = [m for m in models_a if m in models_b]
        if common and not (model_a or model_b):
            pairs += [(Side(run_a.run_id, m), Side(run_b.run_id, m)) for m in common]
        elif len(models_a) == 1 and len(models_b) == 1:
            pairs.append((Side(run_a.run_id, models_a[0]), Side(run_b.run_id, models_b[0])))
        else:
            raise UsageError(
                f"--diff {spec!r}: cannot tell which models to compare ({models_a} vs {models_b})",
                hint="name them: RUN_A:MODEL,RUN_B:MODEL",
            )
    return pairs
