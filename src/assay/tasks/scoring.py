"""The seam for task-specific scoring that a metric function cannot express (code execution, judges, ...).

A task names a scorer hook in its YAML (`scorer: module:function`); the runner calls it once per task with
all samples and their generated outputs, and it returns one tuple of Scores per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assay.records import Sample, Score
from assay.tasks.spec import TaskSpec

if TYPE_CHECKING:
    from assay.sandbox import Sandbox


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may need beyond the samples: where data lives, seeds, free-form options, and where code runs.

    `sandbox` is where a scorer runs generated code, chosen by whoever composes the run (the runner: a
    RaySandbox over the cluster's nodes for `--executor ray`); None means a ProcessSandbox on this machine,
    sized by the task's `workers` option and closed when the scorer is done."""

    data_dir: str | None = None
    seed: int = 1234
    options: dict[str, Any] = field(default_factory=dict)  # e.g. {"timeout": 3.0, "workers": 2, "k": [1, 10]}
    sandbox: Sandbox | None = None


@dataclass(frozen=True)
class Scored:
    """A scorer's answer when it records more than scores: one extras dict per sample, merged into the
    SampleResult's `extras` (the code scorer's sandbox verdict, failing test, stdout and stderr)."""

    scores: list[tuple[Score, ...]]
    extras: list[dict[str, Any]]


class Scorer(Protocol):
    def __call__(
        self,
        spec: TaskSpec,
        samples: Sequence[Sample],
        outputs: Sequence[tuple[str, ...]],
        ctx: ScoringContext,
    ) -> list[tuple[Score, ...]] | Scored: ...
