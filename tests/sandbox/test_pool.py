"""How the pool places work: one CPU per regular worker (when there are enough), and a problem's samples kept
on one checker."""

from __future__ import annotations

import os

import pytest

from assay.sandbox import ProcessSandbox

from .helpers import job

pytestmark = pytest.mark.integration

PROGRAM = "import os\nprint(sorted(os.sched_getaffinity(0)))\ndef solve(x):\n    return x * x\n"


def _cpus_seen(box: ProcessSandbox, n: int) -> list[list[int]]:
    outcomes = box.run_batch([job(PROGRAM)] * n)
    assert all(o.passed for o in outcomes), outcomes
    return [eval(o.stdout) for o in outcomes]  # noqa: S307 - a list of ints we printed


def test_workers_are_pinned_one_cpu_each():
    allowed = sorted(os.sched_getaffinity(0))
    with ProcessSandbox(workers=1) as box:
        seen = _cpus_seen(box, 6)
    assert seen == [[allowed[0]]] * 6  # one worker, always the first allowed CPU
    if len(allowed) >= 2:
        with ProcessSandbox(workers=2) as box:
            assert box.cpus == allowed[:2]
            seen = _cpus_seen(box, 24)
        assert {tuple(s) for s in seen} <= {(allowed[0],), (allowed[1],)}


def test_no_pinning_when_asked_or_with_more_workers_than_cpus():
    allowed = sorted(os.sched_getaffinity(0))
    with ProcessSandbox(workers=1, pin_cpus=False) as box:
        assert box.cpus == []
        assert _cpus_seen(box, 3) == [allowed] * 3
    with ProcessSandbox(workers=len(allowed) + 1) as box:
        assert box.cpus == []
        assert _cpus_seen(box, 3) == [allowed] * 3


def test_a_problems_samples_go_to_one_checker_together():
    from collections import deque

    from assay.sandbox import Check, Job
    from assay.sandbox.pool import CHUNK, MAX_GROUP, next_chunk

    def jobs_with(keys: list[str]) -> list[Job]:
        return [Job(program="", check=Check(tests=("pass",), remote=(), key=k)) for k in keys]

    keys = ["a"] * 10 + ["b"] * 3 + [""] * 5 + ["c"] * (MAX_GROUP + 2)
    jobs, queue = jobs_with(keys), deque(range(len(keys)))
    chunks = []
    while queue:
        chunks.append([keys[i] for i in next_chunk(jobs, queue)])
    assert CHUNK == 4
    assert chunks == [
        ["a"] * 10,  # a whole problem in one chunk
        ["b", "b", "b", ""],  # a short group is topped up to CHUNK
        [""] * 4,  # jobs without a key are never grouped
        ["c"] * MAX_GROUP,
        ["c", "c"],
    ]
