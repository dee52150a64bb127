"""The model seam: a batch-in, batch-out interface every backend implements.

A backend receives whole lists of requests so it can sort, batch, share prefixes and cache as it likes; it
returns one response per request, in the order given. Backends never see samples, tasks or metrics.

Every member of `Model` is part of the seam, including the optional capabilities (version, stats, a preferred
chunk size, whole-text scoring): callers read them directly, never with `getattr`. A backend that lacks one
inherits `ModelDefaults`, which answers "none" for each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from assay.errors import ModelError
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    RollingRequest,
)

# Called by a backend after each batch with the number of requests just finished (drives progress bars).
Progress = Callable[[int], None]

# A backend's counters for summary.json (tokens forwarded, passes, ...). Only the backend itself changes them.
Stats = Mapping[str, int | float]


@runtime_checkable
class Model(Protocol):
    """What the runner, the judge and the gate need from a model."""

    name: str
    backend: str

    @property
    def fingerprint(self) -> str:
        """Identifies the weights (and tokenizer/config): part of every cache key."""
        ...

    @property
    def version(self) -> str:
        """The weights' revision or commit when the backend knows one, else ""."""
        ...

    @property
    def stats(self) -> Stats:
        """The backend's counters so far; read-only to callers."""
        ...

    @property
    def preferred_chunk_size(self) -> int | None:
        """Generation requests per call the backend wants in flight (HTTP servers want many); None: no wish."""
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

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(text) of each whole text (perplexity tasks); ModelError if the backend cannot."""
        ...

    def close(self) -> None:
        """Release processes, sockets or memory held by the backend."""
        ...


class ModelDefaults:
    """The optional capabilities a backend does not have: inherit it and define only what the backend has."""

    backend: str
    version: str = ""

    @property
    def preferred_chunk_size(self) -> int | None:
        return None

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        raise ModelError(
            f"the {self.backend} backend cannot score whole texts (loglikelihood_rolling)",
            hint="run perplexity tasks with the hf backend",
        )
