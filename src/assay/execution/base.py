"""The executor seam: something that computes units of work and reports each one as it finishes.

`LocalExecutor` (assay.execution.local) calls a backend in this process; `RayExecutor`
(assay.execution.ray_pool) hands units to Ray actors that each hold one replica of the model. Both compute the
same units (assay.execution.units), so their results are the same.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

from assay.execution.units import Unit
from assay.models.base import Progress
from assay.records import Response

# Called once per finished unit, in the driver, with the unit's responses in request order.
UnitDone = Callable[[Unit, list[Response]], None]


class Executor(ABC):
    """What CachedModel needs to compute units; it also stands in for the model (name, fingerprint)."""

    name: str
    backend: str

    @property
    @abstractmethod
    def fingerprint(self) -> str:
        """The model's fingerprint: part of every cache key."""

    @property
    @abstractmethod
    def version(self) -> str:
        """The model's own version (Model.version), as the backend reports it."""

    @property
    @abstractmethod
    def stats(self) -> dict[str, Any]:
        """Counters for summary.json (the backend's own, and per worker on a cluster)."""

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
