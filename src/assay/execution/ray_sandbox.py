"""Sandbox jobs spread over the nodes of a Ray cluster: `assay check-code --executor ray`.

Each node runs one actor holding its own ProcessSandbox (the same isolation as a local run, with as many
workers as the node has CPUs). The driver cuts the batch into runs of jobs that share a check (a problem's
samples, so each node compiles and learns a check once), and hands the next run to whichever node finishes
first. Verdicts come back as the same frozen Outcome records, in input order.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from assay.errors import SandboxError
from assay.sandbox import Job, Outcome

CHUNK = 32  # jobs per hand-over: small enough to balance the nodes, large enough to share a check's set-up


class NodeSandbox:
    """A Ray actor: one ProcessSandbox on one node."""

    def __init__(self, workers: int, hide: list[str]) -> None:
        from assay.sandbox.pool import ProcessSandbox

        # nodes may share a machine (tests, small clusters): pinning would put two pools on the same CPUs
        self.box = ProcessSandbox(workers=workers, hide=hide, pin_cpus=False)
        self.box.start()

    def run(self, jobs: list[Job]) -> list[Outcome]:
        return self.box.run_batch(jobs)

    def close(self) -> None:
        self.box.close()


def chunks(jobs: Sequence[Job], size: int = CHUNK) -> list[list[int]]:
    """Indices of consecutive jobs with one check key, cut at `size`."""
    out: list[list[int]] = []
    for i, job in enumerate(jobs):
        if out and len(out[-1]) < size and jobs[out[-1][0]].check.key == job.check.key:
            out[-1].append(i)
        else:
            out.append([i])
    return out


class RaySandbox:
    """The Sandbox seam over every alive node of the connected Ray cluster."""

    def __init__(self, hide: Sequence[str] = ()) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = [n for n in ray.nodes() if n.get("Alive")]
        actor_cls = ray.remote(NodeSandbox)
        self.actors: list[Any] = []
        for node in nodes:
            cpus = max(1, int(node.get("Resources", {}).get("CPU", 1)))
            strategy = NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)
            self.actors.append(
                actor_cls.options(num_cpus=0, scheduling_strategy=strategy).remote(cpus, list(hide))
            )
        if not self.actors:
            raise SandboxError("the Ray cluster has no alive node")

    def run_batch(
        self,
        jobs: Sequence[Job],
        progress: Callable[[int], None] | None = None,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]:
        import ray

        queue = collections.deque(chunks(jobs))
        idle = list(self.actors)
        inflight: dict[Any, tuple[Any, list[int]]] = {}
        results: dict[int, Outcome] = {}
        while queue or inflight:
            while queue and idle:
                actor, part = idle.pop(), queue.popleft()
                inflight[actor.run.remote([jobs[i] for i in part])] = (actor, part)
            ready, _ = ray.wait(list(inflight), num_returns=1)
            actor, part = inflight.pop(ready[0])
            try:
                outcomes = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                raise SandboxError(f"a node's sandbox failed: {str(exc).splitlines()[0]}") from exc
            idle.append(actor)
            for i, outcome in zip(part, outcomes, strict=True):
                results[i] = outcome
                if on_outcome:
                    on_outcome(i, outcome)
            if progress:
                progress(len(part))
        return [results[i] for i in range(len(jobs))]

    def close(self) -> None:
        import ray

        for actor in self.actors:
            with contextlib.suppress(ray.exceptions.RayError):  # a node that is gone has nothing to close
                ray.get(actor.close.remote(), timeout=30)
            ray.kill(actor)
