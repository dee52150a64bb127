"""`assay dvc diff [REV_A] [REV_B]`: what `dvc metrics diff` shows, with the significance it lacks.

The pipeline's run folders of two git revisions (default: HEAD against the workspace) are paired by folder
name (runs/<model>-<task>), and each pair's samples by sample id; every task x metric gets the paired test of
stats/ (exact McNemar for 0/1 scores, bootstrap otherwise) with its confidence interval, Holm-corrected
within the pair. An older revision's folders are read from the DVC cache (or remote) through DVCFileSystem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from assay.errors import UsageError, require
from assay.runs.folder import list_runs, open_run
from assay.stats.compare import Comparison, compare_runs

WORKSPACE = "workspace"


@dataclass(frozen=True, slots=True)
class Pairing:
    """How many samples of one task x metric each revision scored, and how many of them were paired (by
    sample id): the means and the delta are over the paired ones only, while `dvc metrics diff` compares
    each revision's mean over all of its own."""

    task: str
    metric: str
    paired: int
    in_a: int
    in_b: int

    @property
    def complete(self) -> bool:
        return self.paired == self.in_a == self.in_b


@dataclass(frozen=True, slots=True)
class StageDiff:
    """One run folder present in both revisions, and its comparisons (difference = B - A)."""

    stage: str
    comparisons: tuple[Comparison, ...]
    pairings: tuple[Pairing, ...] = ()


@dataclass(frozen=True, slots=True)
class PipelineDiff:
    rev_a: str
    rev_b: str
    stages: tuple[StageDiff, ...]
    only_a: tuple[str, ...]
    only_b: tuple[str, ...]


def materialize(rev: str, runs: str, dest: Path) -> Path:
    """The pipeline's run folders as of git revision `rev` (the workspace's own for WORKSPACE)."""
    if rev == WORKSPACE:
        return Path(runs)
    require("dvc", "dvc")
    from dvc.api import DVCFileSystem

    _check_revision(rev)
    try:
        fs = DVCFileSystem(".", rev=rev)
        if not fs.exists(runs):
            raise UsageError(f"revision {rev} has no {runs}/", hint="was the pipeline run and committed there?")
        fs.get(runs, str(dest), recursive=True)
    except UsageError:
        raise
    except Exception as exc:  # dvc and scmrepo raise many types for an unknown revision or a missing cache
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise UsageError(
            f"cannot read {runs}/ at revision {rev}: {first}",
            hint="give a git revision of this repository whose outputs are in the DVC cache (`dvc pull -a`)",
        ) from exc
    return dest


def _check_revision(rev: str) -> None:
    """A git revision of the repository here, or UsageError (DVCFileSystem would report an empty tree)."""
    import subprocess

    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], capture_output=True, text=True
    )
    if found.returncode != 0:
        raise UsageError(
            f"{rev!r} is not a git revision of the repository here",
            hint="give a commit, branch or tag (e.g. HEAD~1), run from the pipeline's repository",
        )


def _run_folders(root: Path) -> dict[str, Path]:
    return {run.path.name: run.path for run in list_runs(root)}  # a missing root has none


def diff_folders(root_a: Path, root_b: Path, rev_a: str, rev_b: str, seed: int = 0) -> PipelineDiff:
    """Pair the run folders of two roots by name and compare each pair sample by sample."""
    a, b = _run_folders(root_a), _run_folders(root_b)
    shared = [name for name in a if name in b]
    if not shared:
        raise UsageError(
            f"{rev_a} and {rev_b} share no run folder",
            hint=f"{rev_a}: {', '.join(a) or 'none'}; {rev_b}: {', '.join(b) or 'none'}",
        )
    stages = []
    for name in shared:
        comparisons = tuple(compare_runs(b[name], a[name], seed=seed))  # gives A - B: (B, A) makes it B - A
        stages.append(StageDiff(name, comparisons, tuple(_pairing(a[name], b[name], c) for c in comparisons)))
    return PipelineDiff(
        rev_a, rev_b, tuple(stages), tuple(n for n in a if n not in b), tuple(n for n in b if n not in a)
    )


def _scored(folder: Path, model: str, task: str, metric: str) -> int:
    """The samples of `model` on `task` in a run folder that carry a finite score for `metric`."""
    run = open_run(folder)
    if not run.has_samples(model, task):
        return 0
    values = (s.score(metric) for s in run.samples(model, task))
    return sum(1 for v in values if v is not None and math.isfinite(v))


def _pairing(folder_a: Path, folder_b: Path, c: Comparison) -> Pairing:
    # compare_runs ran (B, A): its model_a is revision B's model
    in_a, in_b = _scored(folder_a, c.model_b, c.task, c.metric), _scored(folder_b, c.model_a, c.task, c.metric)
    return Pairing(c.task, c.metric, c.n, in_a, in_b)


def pairing_notes(diff: PipelineDiff) -> list[str]:
    """One line per task x metric whose samples were not all paired, else one line saying they all were."""
    notes = []
    for stage in diff.stages:
        for p in stage.pairings:
            if not p.complete:
                notes.append(
                    f"{stage.stage} {p.task} {p.metric}: paired {p.paired} samples of {p.in_a} in {diff.rev_a} "
                    f"and {p.in_b} in {diff.rev_b}; the means and delta are over the {p.paired} paired only "
                    "(`dvc metrics diff` compares each side's mean over all of its samples)"
                )
    if not notes:
        counts = sorted({p.paired for s in diff.stages for p in s.pairings})
        shown = ", ".join(str(n) for n in counts)
        notes.append(f"every sample paired: both revisions scored the same samples ({shown} per task)")
    return notes


def diff_revisions(rev_a: str, rev_b: str, runs: str, scratch: Path, seed: int = 0) -> PipelineDiff:
    """Materialize both revisions' run folders under `scratch` and diff them."""
    root_a = materialize(rev_a, runs, scratch / "a")
    root_b = materialize(rev_b, runs, scratch / "b")
    return diff_folders(root_a, root_b, rev_a, rev_b, seed)


def rows(diff: PipelineDiff) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the per-stage, per-metric table (means of A and B, B - A with its interval)."""
    from assay.stats.compare import comparison_rows

    header = ["stage", "task", "metric", "paired", diff.rev_a, diff.rev_b, "delta", "CI", "test", "p", "verdict"]
    out = []
    for stage in diff.stages:
        _, cells = comparison_rows(list(stage.comparisons))
        for c, cell, p in zip(stage.comparisons, cells, stage.pairings, strict=True):
            paired = str(c.n) if p.complete else f"{c.n} of {p.in_a}/{p.in_b}"
            # compare_runs ran (B, A): its "A" is revision B
            out.append([stage.stage, c.task, c.metric, paired, cell[4], cell[3], cell[5], cell[6], c.test,
                        cell[9], _verdict(c.verdict, diff)])  # fmt: skip
    return header, out


def _verdict(verdict: str, diff: PipelineDiff) -> str:
    """compare_runs' verdict, which names its sides A and B, with the revisions' names."""
    named = {"A better": diff.rev_b, "B better": diff.rev_a}
    return f"{named[verdict]} better" if verdict in named else verdict
