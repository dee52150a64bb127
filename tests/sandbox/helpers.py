"""Helpers for the sandbox tests: inspect the host's processes, build small jobs."""

from __future__ import annotations

import os

import pytest

from assay.sandbox import Check, Job, Limits, ProcessSandbox

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="full isolation needs root (namespaces, uid switch)"
)


def processes_of(uids: range) -> list[int]:
    """Host pids of live (non-zombie) processes whose real uid is in `uids`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="utf-8") as fh:
                fields = dict(line.split(":", 1) for line in fh if ":" in line)
        except OSError:
            continue
        uid = int(fields.get("Uid", "-1 0").split()[0])
        if uid in uids and not fields.get("State", "").strip().startswith("Z"):
            found.append(int(entry))
    return found


def sandbox_uids(box: ProcessSandbox) -> range:
    return range(box.base_uid, box.base_uid + box.n_workers)


def job(program: str, tests: tuple[str, ...] = ("assert solve(2) == 4",), **limits: float) -> Job:
    """A job whose check calls the program's `solve`."""
    check = Check(tests=tests, remote=("solve",))
    return Job(program=program, check=check, limits=Limits(**limits) if limits else Limits(cpu_seconds=2.0))
