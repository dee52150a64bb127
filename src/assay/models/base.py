"""The model seam: a batch-in, batch-out interface every backend implements.

A backend receives whole lists of requests so it can sort, batch, share prefixes and cache as it likes; it
returns one response per request, in the order given. Backends never see samples, tasks or metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
)

# Called by a backend after each batch with the number of requests just finished (drives progress bars).
Progress = Callable[[int], None]


@runtime_checkable
class Model(Protocol):
    """What the runner, the judge and the gate need from a model."""

    name: str
    backend: str

    @property
    def fingerprint(self) -> str:
        """Identifies the weights (and tokenizer/config): part of every cache key."""
        ...

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(continuation | context) for each request, in order."""
        ...

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        """Completions for each request, in order."""
        ...

    def close(self) -> None:
        """Release processes, sockets or memory held by the backend."""
        ...
