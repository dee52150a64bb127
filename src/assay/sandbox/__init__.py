"""Run untrusted code against hidden tests, isolated, and decide verdicts it cannot forge.

    Sandbox (protocol)      run_batch(jobs) -> outcomes; ProcessSandbox is the local backend
    Job = program + Check   the program runs confined; the Check's test code runs in the trusted checker
    Outcome                 status passed/failed/timeout/error, reason, per-test results, CPU time, output

See checker.py for the process layout and wire.py for what may cross from the program to the checker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from assay.sandbox.jobs import Check, Job, Limits, Outcome, TestResult

if TYPE_CHECKING:
    from assay.sandbox.pool import ProcessSandbox


class Sandbox(Protocol):
    """The seam: anything that can run a batch of jobs (a container backend could come later)."""

    def run_batch(
        self,
        jobs: Sequence[Job],
        progress: Callable[[int], None] | None = None,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]: ...

    def close(self) -> None: ...


__all__ = ["Check", "Job", "Limits", "Outcome", "ProcessSandbox", "Sandbox", "TestResult"]


def __getattr__(name: str) -> Any:
    # the zygote imports this package too: every page it holds is copied into each program's page tables at
    # fork, so the pool (and with it subprocess, pickle, selectors) is imported only when asked for
    if name == "ProcessSandbox":
        from assay.sandbox.pool import ProcessSandbox

        return ProcessSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
