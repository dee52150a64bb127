"""Run untrusted code against hidden tests, isolated, and decide verdicts it cannot forge.

    Sandbox (protocol)      run_batch(jobs) -> outcomes; ProcessSandbox is the local backend
    Job = program + Check   the program runs confined; the Check's test code runs in the trusted judge
    Outcome                 status passed/failed/timeout/error, reason, per-test results, CPU time, output

See judge.py for the process layout and wire.py for what may cross from the program to the judge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from assay.sandbox.jobs import Check, Job, Limits, Outcome, TestResult
from assay.sandbox.pool import ProcessSandbox


class Sandbox(Protocol):
    """The seam: anything that can run a batch of jobs (a container backend could come later)."""

    def run_batch(
        self, jobs: Sequence[Job], progress: Callable[[int], None] | None = None
    ) -> list[Outcome]: ...

    def close(self) -> None: ...


__all__ = ["Check", "Job", "Limits", "Outcome", "ProcessSandbox", "Sandbox", "TestResult"]
