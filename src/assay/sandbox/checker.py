"""The checker: a trusted worker process that runs checks against sandboxed programs and decides verdicts.

Started by the pool as a fresh interpreter. It moves its future children into a new pid namespace and starts
a zygote there (pid 1). For each job it hands the zygote one end of a new socketpair, sends the program over
the other end, then runs the trusted check with the remote names bound to proxies (remote.py). The verdict is
computed here, from the check's own exceptions and the zygote's report; nothing the program does can write it.

Pool <-> checker messages are length-prefixed pickles (both sides trusted): a list of (index, Job) in, one
(index, Outcome) out per job.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import pickle
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from assay.sandbox import isolation
from assay.sandbox.jobs import Check, Job, Outcome, TestResult
from assay.sandbox.prefetch import MAX_CALLS, literal_calls
from assay.sandbox.remote import RemoteFunction, SandboxGone, Session, call_key, has_handle, rebuild_exception
from assay.sandbox.wire import Closed, WireError

_HEADER = struct.Struct(">Q")
MAX_OUTPUT = 16 * 1024  # bytes of stdout and of stderr kept per program, at most
MAX_PLAN_BYTES = 1 << 20  # encoded arguments of the calls learned from a passing run, at most
SLOW = 0.1  # seconds before a checker reports its program as slow, so the pool stops queueing behind it


def clean_env() -> dict[str, str]:
    """The whole environment of checkers and zygotes: no secrets of the harness, just enough to import assay."""
    import assay

    src = os.path.dirname(os.path.dirname(os.path.abspath(assay.__file__)))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": src,
    }
    if os.environ.get("ASSAY_SANDBOX_DEBUG"):
        env["ASSAY_SANDBOX_DEBUG"] = "1"
    return env


def send_obj(sock: socket.socket, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(data)) + data)


def recv_obj(sock: socket.socket) -> Any:
    def exact(n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = sock.recv(min(n - len(buf), 1 << 20))
            if not chunk:
                raise EOFError
            buf += chunk
        return bytes(buf)

    (size,) = _HEADER.unpack(exact(_HEADER.size))
    return pickle.loads(exact(size))


def _first_reply(session: Session, limit: float, on_slow: Callable[[], None] | None) -> Any:
    """The program's first answer; if it is slow in coming, tell the pool (it can then use another checker)."""
    sock = session.chan.sock
    if on_slow is None or limit <= SLOW:
        return session.chan.recv()
    sock.settimeout(SLOW)
    try:
        return session.chan.recv()
    except TimeoutError:  # the channel keeps what it read so far
        on_slow()
        sock.settimeout(limit - SLOW)
        return session.chan.recv()
    finally:
        sock.settimeout(limit)


class _Plan(NamedTuple):
    """Prefetched calls: as sent to the program, and their call keys (computed once per check)."""

    wire: list[list[Any]]
    keys: list[str]

    @classmethod
    def of(cls, calls: list[tuple[str, Any, Any]]) -> _Plan:
        return cls([[n, a, k] for n, a, k in calls], [call_key(n, a, k) for n, a, k in calls])


class _CheckTimeout(BaseException):
    """The trusted side ran past the job's wall limit (e.g. waiting on a stalled program)."""


def _on_alarm(_signum: int, _frame: Any) -> None:
    raise _CheckTimeout()


class Checker:
    """Owns one zygote; runs jobs one at a time and computes their verdicts."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.compiled: dict[tuple[str, str], Any] = {}
        self.plans: dict[tuple[str, str, tuple[str, ...]], _Plan] = {}
        self.learned: set[tuple[str, str, tuple[str, ...]]] = set()
        self.ctrl, zygote_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.zygote = subprocess.Popen(
            [sys.executable, "-m", "assay.sandbox", "zygote", str(zygote_end.fileno()), json.dumps(config)],
            pass_fds=[zygote_end.fileno()],
            env=clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("ASSAY_SANDBOX_DEBUG") else subprocess.DEVNULL,
        )
        zygote_end.close()
        self.ctrl.settimeout(60.0)
        self.hello = json.loads(self.ctrl.recv(65536) or b"{}")
        self.ctrl.settimeout(None)
        signal.signal(signal.SIGALRM, _on_alarm)

    def code(self, source: str, key: str) -> Any:
        """Compile trusted snippets once per check key (a bench has ten programs per problem)."""
        if not key:
            return compile(source, "<check>", "exec")
        cached = self.compiled.get((key, source))
        if cached is None:
            cached = self.compiled[(key, source)] = compile(source, "<check>", "exec")
        return cached

    def run(self, job: Job, on_slow: Callable[[], None] | None = None) -> Outcome:
        """Run one job to its Outcome; `on_slow` is called once if the program takes longer than SLOW."""
        t0 = time.monotonic()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        lim = job.limits
        spec = {
            "op": "start",
            "cpu": lim.cpu_seconds,
            "wall": lim.wall,
            "memory_mb": lim.memory_mb,
            "max_processes": lim.max_processes,
            "max_file_mb": lim.max_file_mb,
            "out_cap": min(lim.max_output_bytes, MAX_OUTPUT),  # the report travels as one datagram
        }
        socket.send_fds(self.ctrl, [json.dumps(spec).encode()], [theirs.fileno()])
        theirs.close()
        mine.settimeout(lim.wall + 2.0)
        session = Session(mine)
        signal.setitimer(signal.ITIMER_REAL, lim.wall + 3.0)
        try:
            verdict = self.verdict(job, session, on_slow)
        except _CheckTimeout:
            session.kill("timed out")
            verdict = ("failed", "timed out", ())
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            mine.close()
        self.ctrl.send(b'{"op": "end"}')
        report = json.loads(self.ctrl.recv(1 << 20))
        status, reason, tests = verdict
        if report["timed_out"] or session.dead == "timed out":
            status, reason = "timeout", "timed out"
        elif session.dead and status != "error":
            status, reason = "failed", reason or session.dead
        return Outcome(
            status=status,
            reason=reason,
            tests=tests,
            cpu_seconds=report["cpu"],
            wall_seconds=time.monotonic() - t0,
            stdout=report["stdout"],
            stderr=report["stderr"],
        )

    def plan(self, check: Check, session: Session) -> _Plan:
        """The calls to send along with the program, encoded for the wire (cached per check key): the check's
        literal calls, until a passing run has shown every call it makes (computed arguments included)."""
        plan_key = (check.key, check.setup, check.tests)
        cached = self.plans.get(plan_key) if check.key else None
        if cached is None:
            calls = []
            for name, args, kwargs in literal_calls(check):
                try:
                    encoded = {k: session.encode_args(v) for k, v in kwargs.items()}
                    calls.append((name, session.encode_args(args), encoded))
                except (TypeError, WireError):
                    continue
            cached = _Plan.of(calls)
            if check.key:
                self.plans[plan_key] = cached
        return cached

    def verdict(
        self, job: Job, session: Session, on_slow: Callable[[], None] | None = None
    ) -> tuple[Any, str, tuple[TestResult, ...]]:
        """Load the program with the prefetched calls, then run the check. Returns (status, reason, tests)."""
        calls = self.plan(job.check, session)
        try:
            session.chan.send({"src": job.program, "batch": calls.wire})
            reply = _first_reply(session, job.limits.wall + 2.0, on_slow)
        except (Closed, ConnectionError, TimeoutError, WireError) as exc:
            reason = "timed out" if isinstance(exc, TimeoutError) else "program exited"
            session.kill(reason)
            return "failed", reason, ()
        if type(reply) is dict and type(reply.get("e")) is list and len(reply["e"]) == 3:
            name, base, message = (str(x) for x in reply["e"])
            return "failed", str(rebuild_exception(name[:100], base, message[:2000])), ()
        batch = reply.get("batch") if type(reply) is dict and reply.get("ok") is True else None
        if type(batch) is not list or len(batch) != len(calls.keys) or len(reply) != 2:
            session.kill("protocol violation")
            return "failed", "protocol violation", ()
        session.preload(calls.keys, batch)
        verdict = self.run_check(job.check, session)
        if verdict[0] == "passed" and job.check.key:
            self.learn(job.check, session)
        return verdict

    def learn(self, check: Check, session: Session) -> None:
        """After a passing run, prefetch every call it made for the later programs of the same check.

        The calls come from the trusted check (with its randomness seeded per check, see run_check), so later
        runs of a check usually make the same calls; one that makes another call just asks for it live."""
        plan_key = (check.key, check.setup, check.tests)
        if plan_key in self.learned:
            return
        self.learned.add(plan_key)
        calls, size = [], 0
        for name, args, kwargs, key in session.trace[:MAX_CALLS]:
            if has_handle(args) or has_handle(kwargs):
                continue
            size += len(key)
            if size > MAX_PLAN_BYTES:  # the program's first message must stay far below a frame's limit
                break
            calls.append((name, args, kwargs))
        self.plans[plan_key] = _Plan.of(calls)

    def run_check(self, check: Check, session: Session) -> tuple[Any, str, tuple[TestResult, ...]]:
        # a check that draws random inputs draws the same ones for every program of a problem: verdicts are
        # reproducible, and the calls a passing run made can be prefetched for the next program (see learn)
        random.seed(check.key or check.setup)
        ns: dict[str, Any] = {"__name__": "__check__"}
        try:
            exec(self.code(check.prelude, check.key), ns)  # trusted benchmark code
        except Exception as exc:
            return "error", f"the check's prelude failed: {type(exc).__name__}: {exc}", ()
        for name in check.remote:
            ns[name] = RemoteFunction(session, name)
        try:
            exec(self.code(check.setup, check.key), ns)
        except (Exception, SandboxGone) as exc:
            return "failed", str(exc), ()
        results: list[TestResult] = []
        for i, test in enumerate(check.tests):
            try:
                exec(self.code(test, check.key), ns)
                results.append(TestResult(index=i, passed=True))
            except (Exception, SandboxGone, SystemExit) as exc:
                results.append(TestResult(index=i, passed=False, reason=str(exc)))
            if session.dead:
                break
        failed = [r for r in results if not r.passed]
        if failed or session.dead or len(results) != len(check.tests):
            return "failed", failed[0].reason if failed else session.dead, tuple(results)
        return "passed", "", tuple(results)

    def close(self) -> None:
        try:
            self.ctrl.send(b'{"op": "quit"}')
            self.zygote.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.zygote.kill()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pool owns Ctrl-C
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)
    pool = socket.socket(fileno=int(sys.argv[1]))
    config = recv_obj(pool)
    if config.get("cpu") is not None:  # our zygote and its programs inherit this (see pool._worker_cpus)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {config["cpu"]})
    # our next child (the zygote) becomes pid 1 of a fresh pid namespace; if refused, the zygote notices it
    # is not pid 1 and reports the degraded mode
    with contextlib.suppress(OSError):
        isolation.unshare(isolation.CLONE_NEWPID)
    checker = Checker(config)
    send_obj(pool, checker.hello)
    try:
        serve(pool, checker)
    except EOFError:
        pass
    finally:
        checker.close()


def serve(pool: socket.socket, checker: Checker) -> None:
    """Pool messages: ("jobs", [(index, Job)]), ("cancel", [index]), None to stop. Replies: ("done", index,
    Outcome) and ("slow", index) when a program is slow, so the pool can hand our queued jobs to others."""
    queue: deque[tuple[int, Job]] = deque()
    while True:
        while not queue or select.select([pool], [], [], 0)[0]:
            msg = recv_obj(pool)
            if msg is None:
                return
            if msg[0] == "jobs":
                queue.extend(msg[1])
            elif msg[0] == "cancel":
                dropped = set(msg[1])
                queue = deque(item for item in queue if item[0] not in dropped)
        index, job = queue.popleft()
        outcome = checker.run(job, on_slow=functools.partial(send_obj, pool, ("slow", index)))
        send_obj(pool, ("done", index, outcome))
