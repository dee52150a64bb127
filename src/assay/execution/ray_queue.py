"""One Ray work queue for everything assay runs on a cluster: model units and sandbox job runs.

An `ActorPool` holds Ray actors (workers) and hands them items of work. A worker actor has
`load() -> {"pid": ..., "node": ..., ...}` (called when it starts, and again after Ray restarts it) and a method
that computes one item (`UnitWorker.run`, `NodeSandbox.run`). An item has a stable `uid` and a `cost`.

The driver keeps one queue of items, largest first, and hands the next one to whichever worker finishes, so no
worker is left holding a straggler. A worker process that dies has its item re-queued (at the front) and is
restarted by Ray (at most RESTARTS times; it takes work again once `load` answers); an item lost
MAX_REQUEUES + 1 times stops the work with an error that names it. An item's result reaches `done` once, when
its worker returns it whole, so a death mid-item loses nothing and repeats nothing.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from assay.errors import AssayError

MAX_REQUEUES = 2
RESTARTS = 2  # pass as the actors' max_restarts

Log = Callable[[str], None]


class Work(Protocol):
    """What the queue needs of an item: a name that is stable across runs, and a size to sort by."""

    @property
    def uid(self) -> str: ...

    @property
    def cost(self) -> int: ...


W = TypeVar("W", bound=Work)


@dataclass(eq=False)
class Slot:
    """The driver's view of one worker."""

    index: int
    actor: Any
    info: dict[str, Any]  # what `load` returned: pid, node, ...
    lost: int = 0  # deaths seen
    busy: float = 0.0
    items: int = 0
    size: int = 0  # requests (model units) or jobs (sandbox runs) computed
    backend: dict[str, Any] = field(default_factory=dict)


class ActorPool:
    """Workers (Ray actors already created, with `max_restarts=RESTARTS`) and the queue that feeds them.

    `error` is the AssayError subclass for what goes wrong on the workers (ModelError, SandboxError)."""

    def __init__(self, actors: Sequence[Any], error: type[AssayError], log: Log | None = None,
                 load_timeout: float = 1800.0, what: str = "start") -> None:  # fmt: skip
        self.error = error
        self.log = log or (lambda _: None)
        try:
            infos = gather([a.load.remote() for a in actors], load_timeout, error, what)
        except BaseException:
            _kill(actors)
            raise
        self.slots = [Slot(i, a, info) for i, (a, info) in enumerate(zip(actors, infos, strict=True))]
        self.requeued: list[str] = []
        self.timing: dict[str, float] = {"seconds_running": 0.0, "seconds_tail": 0.0}

    def where(self) -> str:
        """Where the workers run ("pid 12 on host-a, pid 13 on host-b"), for the line that says they are up."""
        return ", ".join(f"pid {s.info['pid']} on {s.info['node']}" for s in self.slots)

    def run(self, items: Sequence[W], method: str, done: Callable[[W, Any], None],
            size: Callable[[W], int], progress: Callable[[int], None] | None = None) -> None:  # fmt: skip
        """Compute every item with the workers' `method`; `done(item, result)` once per item, as each finishes,
        and `progress(size(item))` after it."""
        _Schedule(self, items, method, done, size, progress).drain()

    def close(self) -> None:
        _kill([slot.actor for slot in self.slots])


class _Schedule(Generic[W]):
    """One pass of the queue: largest items first; a worker that finishes takes the next one."""

    def __init__(self, pool: ActorPool, items: Sequence[W], method: str, done: Callable[[W, Any], None],
                 size: Callable[[W], int], progress: Callable[[int], None] | None) -> None:  # fmt: skip
        self.pool = pool
        self.queue = collections.deque(sorted(items, key=lambda u: (-u.cost, u.uid)))
        self.method = method
        self.done = done
        self.size = size
        self.progress = progress
        self.idle = list(pool.slots)
        self.inflight: dict[Any, tuple[Slot, W | None, float]] = {}
        self.lost: collections.Counter[str] = collections.Counter()
        self.first_idle: float | None = None
        self.restarting: dict[Slot, float] = {}  # worker -> when to ask again whether it is back

    def drain(self) -> None:
        import ray

        started = time.perf_counter()
        while self.queue or any(u is not None for _, u, _ in self.inflight.values()):
            self._dispatch()
            if not self.inflight and not self.restarting:
                raise self.pool.error("every Ray worker died", hint="see the Ray logs (/tmp/ray/session_latest/logs)")
            ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=0.2 if self.restarting else None)
            for ref in ready:
                self._finish(ref)
        end = time.perf_counter()
        self.pool.timing["seconds_running"] += end - started
        self.pool.timing["seconds_tail"] += end - (self.first_idle or end)

    def _dispatch(self) -> None:
        now = time.perf_counter()
        for slot in [s for s, when in self.restarting.items() if when <= now]:
            del self.restarting[slot]  # ask again whether the restarted worker is ready
            self.inflight[slot.actor.load.remote()] = (slot, None, now)
        while self.queue and self.idle:
            slot = self.idle.pop(0)
            item = self.queue.popleft()
            self.inflight[getattr(slot.actor, self.method).remote(item)] = (slot, item, time.perf_counter())
        if self.idle and not self.queue and self.first_idle is None:
            self.first_idle = time.perf_counter()

    def _finish(self, ref: Any) -> None:
        import ray
        from ray.exceptions import ActorDiedError, ActorUnavailableError, RayActorError, RayTaskError

        slot, item, started = self.inflight.pop(ref)
        try:
            result = ray.get(ref)
        except RayActorError as exc:
            if item is None and isinstance(exc, ActorUnavailableError):  # still restarting
                self.restarting[slot] = time.perf_counter() + 0.2
                return
            self._worker_died(slot, item, restarts=not isinstance(exc, ActorDiedError))
            return
        except RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, AssayError):
                raise cause from None
            raise self.pool.error(f"unit {item.uid if item else '?'} failed on a Ray worker: {cause}") from exc
        self.idle.append(slot)
        if item is None:  # a restarted worker is ready again (in a new process)
            slot.info = dict(result)
            return
        n = self.size(item)
        slot.busy += time.perf_counter() - started
        slot.items += 1
        slot.size += n
        self.done(item, result)
        if self.progress:
            self.progress(n)

    def _worker_died(self, slot: Slot, item: W | None, restarts: bool) -> None:
        slot.lost += 1
        if item is not None:
            self.lost[item.uid] += 1
            if self.lost[item.uid] > MAX_REQUEUES:
                raise self.pool.error(
                    f"unit {item.uid} was lost with {self.lost[item.uid]} workers that died computing it",
                    hint="its work may crash the worker; see the Ray logs (/tmp/ray/session_latest/logs)",
                )
            self.queue.appendleft(item)
            self.pool.requeued.append(item.uid)
            self.pool.log(f"ray: worker {slot.index} (pid {slot.info['pid']}) died; re-queued unit {item.uid}")
        if restarts and slot.lost <= RESTARTS:  # Ray restarts it; it takes work again once it is ready
            self.restarting[slot] = time.perf_counter()


def gather(refs: list[Any], timeout: float, error: type[AssayError], what: str) -> list[dict[str, Any]]:
    """The workers' `load` answers; a failure or a timeout is one `error` saying they could not `what`."""
    import ray
    from ray.exceptions import GetTimeoutError, RayTaskError

    try:
        return list(ray.get(refs, timeout=timeout))
    except RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, AssayError):
            raise cause from None
        raise error(f"a Ray worker could not {what}: {cause}") from exc
    except GetTimeoutError as exc:
        raise error(f"the Ray workers did not {what} within {timeout:.0f} s") from exc


def _kill(actors: Sequence[Any]) -> None:
    import ray

    for actor in actors:
        ray.kill(actor, no_restart=True)
