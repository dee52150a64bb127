"""Units on a Ray cluster: `--executor ray`.

Each worker is a Ray actor holding one replica of the model (loaded once, in the actor; the driver loads
nothing). The units go through the one Ray work queue (assay.execution.ray_queue, which the Ray sandbox uses
too): largest first, to whichever worker finishes. Requests and responses travel as the frozen records.

Faults: a worker process that dies has its unit re-queued (at the front) and is restarted by Ray (at most
`RESTARTS` times, reloading the model); a unit lost `MAX_REQUEUES` + 1 times stops the run with an error that
names it. Ray itself would retry an unreachable address for minutes and wait forever for resources the cluster
lacks: both are checked first (`connect`, in assay.execution.ray_connect, and `check_resources`) and
fail in one line.
"""

from __future__ import annotations

import collections
import os
import socket
import time
from collections.abc import Callable, Sequence
from typing import Any

from assay.config import ModelSpec
from assay.errors import ModelError, UsageError
from assay.execution.base import Executor, LoadedModel, UnitDone
from assay.execution.local import compute_unit
from assay.execution.ray_connect import connect
from assay.execution.ray_queue import MAX_REQUEUES, RESTARTS, ActorPool
from assay.execution.units import Unit
from assay.models.base import Progress
from assay.records import Response

LOAD_TIMEOUT = 1800.0  # seconds for every worker to load its replica
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

__all__ = ["MAX_REQUEUES", "RESTARTS", "RayExecutor", "check_resources", "connect", "parse_resources"]

Log = Callable[[str], None]


def parse_resources(text: str | None) -> dict[str, float]:
    """`cpu=1,gpu=1,accel=2` -> Ray resource names and amounts per worker (default: one CPU)."""
    need: dict[str, float] = {"CPU": 1.0}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        try:
            amount = float(value)
        except ValueError:
            amount = -1.0
        if not sep or amount < 0:
            raise UsageError(
                f"--worker-resources: {part.strip()!r} is not name=amount", hint="e.g. cpu=1,gpu=1 or cpu=0.25"
            )
        key = name.strip()
        need[{"cpu": "CPU", "gpu": "GPU"}.get(key.lower(), key)] = amount
    return need


def check_resources(workers: int, need: dict[str, float]) -> None:
    """Refuse a worker count or resource the cluster's nodes cannot hold (Ray would wait forever)."""
    import ray

    if workers < 1:
        raise UsageError(f"--workers {workers}: need at least one worker")
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    fits = 0
    for node in nodes:
        have = node.get("Resources", {})
        counts = [int(have.get(name, 0.0) / amount + 1e-9) for name, amount in need.items() if amount > 0]
        fits += min(counts) if counts else workers
    if fits < workers:
        total = collections.Counter[str]()
        for node in nodes:
            total.update({k: v for k, v in node.get("Resources", {}).items() if k in need})
        wanted = ", ".join(f"{k.lower() if k in ('CPU', 'GPU') else k}={v:g}" for k, v in need.items())
        has = ", ".join(f"{k}={total.get(k, 0):g}" for k in need)
        raise UsageError(
            f"the Ray cluster cannot hold {workers} worker(s) with {wanted} each "
            f"(room for {fits}; the cluster has {has} on {len(nodes)} node(s))",
            hint="lower --workers, or give each worker less (--worker-resources cpu=0.5), or add nodes",
        )


class UnitWorker:
    """A Ray actor: one model replica, loaded once; computes the units it is handed."""

    def __init__(self, spec: dict[str, Any], threads: dict[str, str | None]) -> None:
        # Ray limits a worker's math libraries to its CPU share (OMP_NUM_THREADS=1); CPU kernels sum in a
        # different order with another thread count (~2e-5 nats), so the worker uses what the driver would
        for name, value in threads.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.spec = spec
        self.model: Any = None
        self.units = 0
        self.requests = 0
        self.busy = 0.0

    def load(self) -> dict[str, Any]:
        from assay.models.backends import load_model

        if self.model is None:
            self.model = load_model(ModelSpec.model_validate(self.spec))
        hint = self.model.preferred_chunk_size
        return {
            "fingerprint": self.model.fingerprint,
            "version": str(self.model.version),
            "generate_unit_hint": int(hint) if hint else None,
            "pid": os.getpid(),
            "node": socket.gethostname(),
        }

    def run(self, unit: Unit) -> list[Response]:
        started = time.perf_counter()
        responses = compute_unit(self.model, unit)
        self.busy += time.perf_counter() - started
        self.units += 1
        self.requests += len(unit.requests)
        return responses

    def stats(self) -> dict[str, Any]:
        backend = dict(self.model.stats)
        return {"units": self.units, "requests": self.requests, "busy_seconds": round(self.busy, 3), **backend}


class RayExecutor(Executor):
    """Units over `workers` actors of the model `spec` (backend, args and name already resolved)."""

    def __init__(self, spec: ModelSpec, workers: int, need: dict[str, float], log: Log | None = None) -> None:
        import ray

        rest = {k: v for k, v in need.items() if k not in ("CPU", "GPU")}
        actor_cls = ray.remote(UnitWorker).options(
            num_cpus=need.get("CPU", 1.0),
            num_gpus=need.get("GPU", 0.0),
            resources=rest or None,
            max_restarts=RESTARTS,
            max_task_retries=0,
        )
        threads = {name: os.environ.get(name) for name in THREAD_VARIABLES}
        actors: list[Any] = [actor_cls.remote(spec.model_dump(mode="json"), threads) for _ in range(workers)]
        self.pool = ActorPool(actors, ModelError, log, LOAD_TIMEOUT, what="load the model")
        prints = {s.info["fingerprint"] for s in self.pool.slots}
        if len(prints) > 1:
            raise ModelError(
                f"workers loaded different models for {spec.name} (fingerprints {', '.join(sorted(prints))})",
                hint="every node must read the same model files (a shared filesystem or the same model cache)",
            )
        self._info = dict(self.pool.slots[0].info)
        self._loaded = LoadedModel(name=spec.name, backend=spec.model, fingerprint=str(self._info["fingerprint"]),
                                   version=str(self._info["version"]))  # fmt: skip
        self.pool.log(f"ray: {workers} worker(s) loaded {spec.name} ({self.pool.where()})")

    @property
    def loaded(self) -> LoadedModel:
        return self._loaded

    @property
    def generate_unit_hint(self) -> int | None:
        hint = self._info.get("generate_unit_hint")
        return int(hint) if hint else None

    @property
    def stats(self) -> dict[str, Any]:
        workers = []
        backend: collections.Counter[str] = collections.Counter()
        for slot in self.pool.slots:
            workers.append({"worker": slot.index, "pid": slot.info["pid"], "node": slot.info["node"],
                            "units": slot.items, "requests": slot.size, "busy_seconds": round(slot.busy, 3),
                            "deaths": slot.lost})  # fmt: skip
            backend.update({k: v for k, v in slot.backend.items() if isinstance(v, int | float)})
        return {**dict(backend), "executor": "ray", "workers": workers, "requeued_units": list(self.pool.requeued),
                **{k: round(v, 3) for k, v in self.pool.timing.items()}}  # fmt: skip

    def run(self, units: Sequence[Unit], done: UnitDone, progress: Progress | None = None) -> None:
        self.pool.run(units, "run", lambda unit, result: done(unit, list(result)), lambda u: len(u.keys), progress)
        self._collect_stats()

    def _collect_stats(self) -> None:
        import ray

        for slot in self.pool.slots:
            try:
                got = ray.get(slot.actor.stats.remote(), timeout=60)
            except Exception:  # a worker that died at the very end: its counters are gone
                continue
            slot.backend = {k: v for k, v in got.items() if k not in ("units", "requests", "busy_seconds")}

    def close(self) -> None:
        self.pool.close()
