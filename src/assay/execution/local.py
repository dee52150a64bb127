"""Units computed one after another by a backend in this process: `--executor local`, the default."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.execution.base import Executor, LoadedModel, UnitDone
from assay.execution.kinds import KIND
from assay.execution.units import Unit
from assay.models.base import Model, Progress
from assay.records import Response


def compute_unit(model: Model, unit: Unit, progress: Progress | None = None) -> list[Response]:
    """One backend call for one unit: what a local run and every cluster worker do with it."""
    return list(KIND[unit.kind].answer(model, unit.requests, progress))


class LocalExecutor(Executor):
    """Runs units in the order given, in this process."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._loaded: LoadedModel | None = None

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:  # read when first needed: an HTTP backend asks its server for its identity
            model = self.model
            self._loaded = LoadedModel(
                name=model.name, backend=model.backend, fingerprint=model.fingerprint, version=model.version
            )
        return self._loaded

    @property
    def stats(self) -> dict[str, Any]:
        return dict(self.model.stats)

    @property
    def generate_unit_hint(self) -> int | None:
        hint = self.model.preferred_chunk_size
        return int(hint) if hint else None

    def run(self, units: Sequence[Unit], done: UnitDone, progress: Progress | None = None) -> None:
        for unit in units:
            done(unit, compute_unit(self.model, unit, progress))

    def close(self) -> None:
        self.model.close()
