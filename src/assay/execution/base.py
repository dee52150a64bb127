"""The executor seam: something that computes units of work and reports each one as it finishes.

`LocalExecutor` (assay.execution.local) calls a backend in this process; `RayExecutor`
(assay.execution.ray_pool) hands units to Ray actors that each hold one replica of the model. Both compute the
same units (assay.execution.units), so their results are the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assay.execution.units import Unit
from assay.models.base import Progress
from assay.records import Response

# Called once per finished unit, in the driver, with the unit's responses in request order.
UnitDone = Callable[[Unit, list[Response]], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadedModel:
    """Which model an executor computes with, as its backend identified it once loaded (in this process, or on
    the workers). An executor carries it rather than posing as the model: CachedModel keys its stores with
    `fingerprint`, and a run records it (assay.models.backends.model_info)."""

    name: str  # the display name
    backend: str
    fingerprint: str  # the backend's identity of the model (assay.models.identity): part of every cache key
    version: str = ""  # the model's own version (Model.version)


class Executor(ABC):
    """What CachedModel needs to compute units: the model they are computed with (`loaded`), and the work."""

    @property
    @abstractmethod
    def loaded(self) -> LoadedModel:
        """The identity of the model the units are computed with."""

    @property
    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """The executor's counters for summary.json (the backend's own, and per worker on a cluster)."""

    @property
    @abstractmethod
    def generate_unit_hint(self) -> int | None:
        """The backend's preferred number of generation requests per call (HTTP servers want many)."""

    @abstractmethod
    def run(self, units: Sequence[Unit], done: UnitDone, progress: Progress | None = None) -> None:
        """Compute every unit; call `done` for each as it finishes and `progress(n)` as requests finish."""

    @abstractmethod
    def close(self) -> None:
        """Release the model (local) or the workers (cluster)."""
