"""Compare a recorded run with its re-run: every difference, and the likely cause of each.

Causes, checked in this order for every differing sample:
    data changed       the row's content hash in its sample_id differs (or the task's dataset_sha256; an
                       unchanged row of a changed dataset can move by float noise, batched with other rows)
    model changed      the model fingerprint differs
    packages changed   a package version or Python differs (environment in summary.json)
    machine differs    platform, CPU or thread counts differ: float results may move within the tolerance
    cached answers     the recorded run took answers from the response cache, computed earlier in other
                       batches: floats may move within the tolerance (the re-run recomputes everything)
    unexplained        none of the above: nondeterminism in the backend
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.records import RunRecord, SampleResult
from assay.runs.folder import RunFolder, open_run

MACHINE_KEYS = ("platform", "machine", "processor", "cpu_count", "torch_threads", "threads", "cuda")
CROSS_MACHINE_TOLERANCE = 1e-3  # nats per loglikelihood, and metric units: float reorderings, not changes
# a cached answer was computed in another batch (other padding, other kernel shapes): fp32 noise ~1e-6
CACHED_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Difference:
    """One thing that did not reproduce."""

    kind: str  # "sample", "metric", "dataset", "model", "environment", "missing"
    where: str  # model/task/sample_id or model/task/metric
    detail: str
    cause: str = ""


@dataclass(frozen=True)
class AuditReport:
    """The outcome of comparing a run with its re-run."""

    original: str
    rerun: str
    tolerance: float
    samples_compared: int
    differences: tuple[Difference, ...]
    causes: tuple[str, ...] = field(default=())
    max_float_diff: float = 0.0  # the largest loglikelihood difference seen, within tolerance or not
    notes: tuple[str, ...] = field(default=())

    @property
    def reproduced(self) -> bool:
        """True when no sample and no metric differs beyond the tolerance."""
        return not any(d.kind in {"sample", "metric", "missing"} for d in self.differences)


def environment_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(package/python changes, machine changes) between two captured environments, as readable lines."""
    packages = []
    old_pk, new_pk = old.get("packages") or {}, new.get("packages") or {}
    for name in sorted(set(old_pk) | set(new_pk)):
        if old_pk.get(name) != new_pk.get(name):
            packages.append(f"{name} {old_pk.get(name, 'absent')} -> {new_pk.get(name, 'absent')}")
    if old.get("python") != new.get("python"):
        packages.append(f"python {old.get('python')} -> {new.get('python')}")
    machine = [f"{k} {old.get(k)!r} -> {new.get(k)!r}" for k in MACHINE_KEYS if old.get(k) != new.get(k)]
    return packages, machine


def default_tolerance(old_env: Mapping[str, Any], new_env: Mapping[str, Any], cached: bool = False) -> float:
    """0 (exact) on the same machine and software; CACHED_TOLERANCE when the record reused cached answers;
    CROSS_MACHINE_TOLERANCE when machine or software differ."""
    packages, machine = environment_changes(old_env, new_env)
    if packages or machine:
        return CROSS_MACHINE_TOLERANCE
    return CACHED_TOLERANCE if cached else 0.0


def cached_models(record: RunRecord) -> set[str]:
    """Models whose recorded answers came (partly) from the response cache, per the run's stats."""
    stats = record.stats
    return {m for m, s in stats.items() if isinstance(s, Mapping) and int(s.get("requests_cached", 0)) > 0}


def split_sample_id(sample_id: str) -> tuple[str, str]:
    """`task/split/12-ab34cd` -> (`task/split/12`, `ab34cd`): the row's position and its content hash."""
    position, _, digest = sample_id.rpartition("-")
    return (position, digest) if position else (sample_id, "")


def compare_runs(original: Path, rerun: Path, tolerance: float | None = None) -> AuditReport:
    """Compare two runs of one config: models, datasets, environment, every sample and every metric."""
    old_run, new_run = open_run(original), open_run(rerun)
    old, new = old_run.record, new_run.record
    old_env, new_env = old.environment, new.environment
    packages, machine = environment_changes(old_env, new_env)
    cached = cached_models(old)
    tol = default_tolerance(old_env, new_env, bool(cached)) if tolerance is None else tolerance
    diffs: list[Difference] = []
    changed_models = _model_changes(old, new, diffs)
    changed_data = _dataset_changes(old, new, diffs)
    diffs += [Difference("environment", "packages", line) for line in packages]
    diffs += [Difference("environment", "machine", line) for line in machine]
    context = _CauseContext(changed_models, changed_data, bool(packages), bool(machine), cached)
    compared, worst = 0, [0.0]
    for result in old.task_results(groups=False):
        compared += _compare_samples(old_run, new_run, result.model, result.task, tol, context, diffs, worst)
    _compare_metrics(old, new, tol, context, diffs)
    causes = tuple(sorted({d.cause for d in diffs if d.cause}))
    notes = [f"the recorded answers of {m} came partly from the response cache" for m in sorted(cached)]
    return AuditReport(str(original), str(rerun), tol, compared, tuple(diffs), causes, worst[0], tuple(notes))


@dataclass(frozen=True)
class _CauseContext:
    models: set[str]
    tasks_with_new_data: set[str]
    packages: bool
    machine: bool
    cached: set[str]

    def cause(self, model: str, task: str, row_changed: bool = False) -> str:
        if row_changed:
            return "data changed"
        if task in self.tasks_with_new_data:
            # an unchanged row can still move by float noise: other rows changed its batch and padding
            return "data changed in other rows (batching)"
        if model in self.models:
            return "model changed"
        if self.packages:
            return "package versions changed"
        if self.machine:
            return "different machine"
        if model in self.cached:
            return "recorded answers came from the response cache (other batches)"
        return "unexplained (nondeterministic backend?)"


def _model_changes(old: RunRecord, new: RunRecord, diffs: list[Difference]) -> set[str]:
    new_fp = {m.name: m.fingerprint for m in new.models}
    changed = set()
    for m in old.models:
        if new_fp.get(m.name) != m.fingerprint:
            changed.add(m.name)
            detail = f"fingerprint {m.fingerprint} -> {new_fp.get(m.name)}"
            diffs.append(Difference("model", m.name, detail, "model changed"))
    return changed


def _dataset_changes(old: RunRecord, new: RunRecord, diffs: list[Difference]) -> set[str]:
    new_sha = {(r.model, r.task): r.dataset_sha256 for r in new.results}
    new_dvc = {(r.model, r.task): r.dataset_dvc for r in new.results}
    changed = set()
    for r in old.results:
        sha = new_sha.get((r.model, r.task))
        if r.dataset_sha256 and sha is not None and sha != r.dataset_sha256:
            changed.add(r.task)
            detail = f"{r.dataset}: dataset_sha256 {r.dataset_sha256[:12]}… -> {sha[:12]}…"
            dvc = new_dvc.get((r.model, r.task), "")
            if r.dataset_dvc or dvc:  # which DVC version of the data each run read (`git log -p data.dvc`)
                detail += f" (DVC {r.dataset_dvc or 'untracked'} -> {dvc or 'untracked'})"
            diffs.append(Difference("dataset", f"{r.model}/{r.task}", detail, "data changed"))
    return changed


def _compare_samples(
    original: RunFolder,
    rerun: RunFolder,
    model: str,
    task: str,
    tol: float,
    ctx: _CauseContext,
    diffs: list[Difference],
    worst: list[float],
) -> int:
    old_rows = _rows_by_position(original, model, task)
    new_rows = _rows_by_position(rerun, model, task)
    for position in sorted(set(old_rows) - set(new_rows)):
        diffs.append(
            Difference("missing", f"{model}/{position}", "in the recorded run only", ctx.cause(model, task))
        )
    for position in sorted(set(new_rows) - set(old_rows)):
        diffs.append(
            Difference("missing", f"{model}/{position}", "in the re-run only", ctx.cause(model, task))
        )
    for position in sorted(set(old_rows) & set(new_rows)):
        a, b = old_rows[position], new_rows[position]
        row_changed = split_sample_id(a.sample_id)[1] != split_sample_id(b.sample_id)[1]
        found = _sample_differences(a, b, tol, worst)
        if row_changed:
            found.insert(0, f"row content changed (sample_id {a.sample_id} -> {b.sample_id})")
        if found:
            where = f"{model}/{a.sample_id}"
            diffs.append(Difference("sample", where, "; ".join(found), ctx.cause(model, task, row_changed)))
    return len(old_rows)


def _rows_by_position(folder: RunFolder, model: str, task: str) -> dict[str, SampleResult]:
    if not folder.has_samples(model, task):
        return {}
    return {split_sample_id(row.sample_id)[0]: row for row in folder.samples(model, task)}


def _sample_differences(a: SampleResult, b: SampleResult, tol: float, worst_seen: list[float]) -> list[str]:
    found = []
    lls_a, lls_b = a.loglikelihoods, b.loglikelihoods
    if len(lls_a) != len(lls_b):
        found.append(f"{len(lls_a)} loglikelihoods -> {len(lls_b)}")
    elif lls_a:
        worst = max(abs(x - y) for x, y in zip(lls_a, lls_b, strict=True))
        worst_seen[0] = max(worst_seen[0], worst)
        if worst > tol or any(math.isnan(x) != math.isnan(y) for x, y in zip(lls_a, lls_b, strict=True)):
            found.append(f"loglikelihood differs by up to {worst:.3g}")
    for key in ("prediction", "outputs", "target", "prompt", "choices"):
        value_a, value_b = getattr(a, key), getattr(b, key)
        if value_a != value_b:
            found.append(f"{key} {_short(value_a)} -> {_short(value_b)}")
    scores_a = {s.metric: s.value for s in a.scores}
    scores_b = {s.metric: s.value for s in b.scores}
    for metric in sorted(set(scores_a) | set(scores_b)):
        if not _close(scores_a.get(metric), scores_b.get(metric), tol):
            found.append(f"score {metric} {scores_a.get(metric)} -> {scores_b.get(metric)}")
    return found


def _close(x: Any, y: Any, tol: float) -> bool:
    if x is None or y is None:
        return x is y
    return bool(abs(float(x) - float(y)) <= tol or (math.isnan(float(x)) and math.isnan(float(y))))


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _compare_metrics(
    old: RunRecord, new: RunRecord, tol: float, ctx: _CauseContext, diffs: list[Difference]
) -> None:
    new_metrics = {(r.model, r.task): r.metrics for r in new.results}
    for r in old.results:
        other = new_metrics.get((r.model, r.task), {})
        for metric, mv in r.metrics.items():
            found = other.get(metric)
            value = None if found is None else found.value
            if not _close(mv.value, value, tol):
                detail = f"{mv.value} -> {value}"
                cause = ctx.cause(r.model, r.task)
                diffs.append(Difference("metric", f"{r.model}/{r.task}/{metric}", detail, cause))
