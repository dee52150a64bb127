"""Sandbox jobs spread over the nodes of a Ray cluster: `--executor ray` for generated code.

Each node runs one actor holding its own ProcessSandbox (the same isolation as a local run, with as many
workers as the node has CPUs). The batch is cut into runs of jobs that share a check (a problem's samples, so
each node compiles and learns a check once; the local pool's own rule, assay.sandbox.pool.next_chunk), and the
runs go through the one Ray work queue (assay.execution.ray_queue) that model units use: largest first, to
whichever node finishes; a node's actor that dies has its run re-queued and is restarted by Ray. Verdicts come
back as the same frozen Outcome records, each reported once, and are returned in input order.
"""

from __future__ import annotations

import collections
import contextlib
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assay.errors import SandboxError
from assay.execution.ray_queue import RESTARTS, ActorPool, Log
from assay.sandbox import Job, Outcome

CHUNK = 32  # jobs of one check per hand-over: small enough to balance the nodes, large enough to share set-up
FILL = 8  # a shorter run is topped up with the jobs that follow, up to this many
START_TIMEOUT = 300.0  # seconds for every node to start its sandbox pool


@dataclass(frozen=True, slots=True)
class JobRun:
    """Consecutive jobs handed to one node together, with their indices in the batch."""

    uid: str  # "<check key>#<index of the first job>": stable for a batch
    indices: tuple[int, ...]
    jobs: tuple[Job, ...]

    @property
    def cost(self) -> int:
        """What the run may take at worst, in milliseconds of CPU: its jobs' limits (largest runs go first)."""
        return sum(int(job.limits.cpu_seconds * 1000) for job in self.jobs)


def job_runs(jobs: Sequence[Job], size: int = CHUNK, fill: int = FILL) -> list[JobRun]:
    """The batch cut into runs for the nodes; every job is in exactly one run."""
    from assay.sandbox.pool import next_chunk

    queue = collections.deque(range(len(jobs)))
    runs: list[JobRun] = []
    while queue:
        part = next_chunk(jobs, queue, group=size, fill=fill)
        uid = f"{jobs[part[0]].check.key or 'jobs'}#{part[0]}"
        runs.append(JobRun(uid, tuple(part), tuple(jobs[i] for i in part)))
    return runs


class NodeSandbox:
    """A Ray actor: one ProcessSandbox on one node (started again by Ray if its process dies)."""

    def __init__(self, workers: int, hide: list[str]) -> None:
        from assay.sandbox.pool import ProcessSandbox

        # nodes may share a machine (tests, small clusters): pinning would put two pools on the same CPUs
        self.box = ProcessSandbox(workers=workers, hide=hide, pin_cpus=False)
        self.box.start()

    def load(self) -> dict[str, Any]:
        """The queue's readiness call: where this actor runs."""
        return {"pid": os.getpid(), "node": socket.gethostname(), "workers": self.box.n_workers}

    def run(self, run: JobRun) -> list[Outcome]:
        return self.box.run_batch(run.jobs)

    def close(self) -> None:
        self.box.close()


class RaySandbox:
    """The Sandbox seam over every alive node of the connected Ray cluster. The node actors start on the first
    batch (a run whose tasks execute no code starts none) and stay up until `close`."""

    def __init__(self, hide: Sequence[str] = (), log: Log | None = None) -> None:
        self.hide = list(hide)
        self.log = log
        self.pool: ActorPool | None = None

    def _start(self) -> ActorPool:
        if self.pool is not None:
            return self.pool
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        if not nodes:
            raise SandboxError("the Ray cluster has no alive node")
        actor_cls = ray.remote(NodeSandbox)
        actors: list[Any] = []
        for node in nodes:
            cpus = max(1, int(node.get("Resources", {}).get("CPU", 1)))
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)  # a restart stays on its node
            options = actor_cls.options(num_cpus=0, scheduling_strategy=strategy, max_restarts=RESTARTS,
                                        max_task_retries=0)  # fmt: skip
            actors.append(options.remote(cpus, self.hide))
        self.pool = ActorPool(actors, SandboxError, self.log, START_TIMEOUT, what="start its sandbox")
        self.pool.log(f"ray: a sandbox on each of {len(actors)} node(s) ({self.pool.where()})")
        return self.pool

    def run_batch(
        self,
        jobs: Sequence[Job],
        progress: Callable[[int], None] | None = None,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]:
        if not jobs:
            return []
        results: dict[int, Outcome] = {}

        def done(run: JobRun, outcomes: list[Outcome]) -> None:
            for i, outcome in zip(run.indices, outcomes, strict=True):
                results[i] = outcome
                if on_outcome:
                    on_outcome(i, outcome)

        self._start().run(job_runs(jobs), "run", done, lambda run: len(run.indices), progress)
        return [results[i] for i in range(len(jobs))]

    def close(self) -> None:
        if self.pool is None:
            return
        import ray

        for slot in self.pool.slots:
            with contextlib.suppress(ray.exceptions.RayError):  # a node that is gone has nothing to close
                ray.get(slot.actor.close.remote(), timeout=30)
        self.pool.close()
        self.pool = None
