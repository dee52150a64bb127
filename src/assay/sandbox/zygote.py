"""The zygote: a fresh interpreter that forks one confined child per program and polices its limits.

Started by a checker as pid 1 of a new pid namespace; it then enters new mount, network, IPC and UTS
namespaces, makes the filesystem read-only except a tmpfs work root, and pre-imports the modules programs
commonly use so a fork is all a program costs. It never receives test code, so a program that reads its own
memory finds none. Because it is pid 1, `kill(-1, SIGKILL)` ends every process a program started, and
nothing survives its job.

Control messages (SOCK_SEQPACKET, JSON) from the checker: `start` (with the job's socket as fd), `end`, `quit`.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import select
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from assay.sandbox import isolation
from assay.sandbox.child import Confinement, child_environment, child_main

TICK = 0.05  # longest pause between checks of a running program's CPU time (a tenth of its limit if less)
MIN_TICK = 0.002  # near its limit, a program is checked again after the CPU time it has left, at least this
PRELOAD = [
    "math",
    "cmath",
    "re",
    "string",
    "collections",
    "collections.abc",
    "itertools",
    "functools",
    "heapq",
    "bisect",
    "typing",
    "random",
    "statistics",
    "fractions",
    "decimal",
    "copy",
    "operator",
    "datetime",
    "json",
    "hashlib",
    "array",
    "struct",
    "textwrap",
    "unicodedata",
    "numbers",
    "enum",
    "dataclasses",
    "sys",
    "os",
    "io",
    "time",
]


@dataclass
class _Job:
    pid: int
    work_dir: str
    cpu_limit: float
    wall_limit: float
    out_cap: int
    output_fds: tuple[int, int]
    started: float = field(default_factory=time.monotonic)
    reaped_cpu: float = 0.0
    cpu_seen: float = 0.0  # CPU seconds at the last check
    timed_out: str = ""

    def next_check(self) -> float:
        """Seconds until the next check: a tenth of the limit (at most TICK), or sooner when the CPU time
        left is less, so a program that runs to its limit is stopped close to it, not up to a tick late."""
        left = self.cpu_limit - self.cpu_seen
        return max(MIN_TICK, min(TICK, self.cpu_limit / 10, left))


class Zygote:
    def __init__(self, ctrl: socket.socket, config: dict[str, Any]) -> None:
        self.ctrl = ctrl
        self.config = config
        self.isolated = False
        self.degraded = ""
        self.work_root = "/tmp"
        self.uid: int | None = config["uid"] if os.geteuid() == 0 else None
        self.job_dir = "/tmp/job"
        self.clk = os.sysconf("SC_CLK_TCK")
        self.count = 0

    def setup(self) -> None:
        """Enter namespaces and build the filesystem view; on failure keep going with a reason to warn."""
        if os.getpid() != 1:
            self.degraded = "no pid namespace (needs root)"
        else:
            try:
                isolation.unshare(
                    isolation.CLONE_NEWNS
                    | isolation.CLONE_NEWNET
                    | isolation.CLONE_NEWIPC
                    | isolation.CLONE_NEWUTS
                )
                import site

                plan = isolation.FsPlan(
                    tmpfs_size_mb=self.config["tmpfs_mb"],
                    hide=tuple(self.config["hide"]),
                    # programs import from the standard library and site-packages, wherever they live
                    expose=(sys.base_prefix, sys.prefix, *site.getsitepackages()),
                )
                failed = isolation.build_private_filesystem(plan)
                self.isolated = "/" not in failed
                if not self.isolated:
                    self.degraded = "could not make the filesystem read-only"
            except OSError as exc:
                self.degraded = f"namespaces unavailable ({exc.strerror or exc})"
        if self.uid is not None and not _uid_mapped(self.uid):
            self.uid = None
            self.degraded = (
                self.degraded or "cannot switch to an unprivileged uid (not mapped in this user namespace)"
            )
        if not self.isolated:
            import tempfile

            self.work_root = tempfile.mkdtemp(prefix="assay-sandbox-")
            os.chmod(self.work_root, 0o711)  # the unprivileged child must reach its job dir inside
        isolation.lock_privileges(drop_groups=self.uid is not None)
        for name in PRELOAD:
            with contextlib.suppress(ImportError):
                __import__(name)
        # every job runs in the same (re-created) directory, so the environment a program sees can be set up
        # here once instead of in each child: our own environment held nothing but interpreter settings
        self.job_dir = os.path.join(self.work_root, "job")
        os.environ.clear()
        os.environ.update(child_environment(self.job_dir))

    def cpu_of(self, job: _Job) -> float:
        """CPU seconds of the job's whole process tree so far (live processes + reaped ones)."""
        pids = [job.pid]
        if self.isolated:  # our /proc shows only this namespace: count every process but ourselves
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and p != "1"]
        total = job.reaped_cpu
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat", "rb") as fh:
                    fields = fh.read().rsplit(b")", 1)[1].split()
                own = _process_cpu(pid)  # exact; /proc counts in clock ticks (10 ms)
                if own is None:
                    own = (int(fields[11]) + int(fields[12])) / self.clk  # utime stime
                total += own + (int(fields[13]) + int(fields[14])) / self.clk  # + its reaped children
            except (OSError, IndexError, ValueError):
                continue
        return total

    def reap(self, job: _Job | None) -> None:
        while True:
            try:
                pid, _status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if job is not None:
                job.reaped_cpu += usage.ru_utime + usage.ru_stime

    def kill_tree(self, job: _Job) -> None:
        # pid 1 of a namespace: kill(-1) reaches every other process in it, never ourselves
        targets = [(os.kill, -1)] if self.isolated else [(os.killpg, job.pid), (os.kill, job.pid)]
        for kill, pid in targets:
            with contextlib.suppress(ProcessLookupError):
                kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                _pid, _status, usage = os.wait4(-1, 0)
            except ChildProcessError:
                break
            job.reaped_cpu += usage.ru_utime + usage.ru_stime

    def start(self, spec: dict[str, Any], fd: int) -> _Job:
        self.count += 1
        work_dir = self.job_dir
        if os.path.lexists(work_dir):  # left over from a job whose clean-up failed
            _rmtree(work_dir)
        os.mkdir(work_dir, 0o700)
        if self.uid is not None:
            os.chown(work_dir, self.uid, self.uid)
        limits = isolation.ProcessLimits(
            memory_bytes=spec["memory_mb"] << 20,
            max_processes=spec["max_processes"],
            cpu_seconds_hard=int(spec["cpu"]) + 2,
            file_bytes=spec["max_file_mb"] << 20,
        )
        outputs = (os.memfd_create("stdout", 0), os.memfd_create("stderr", 0))
        conf = Confinement(work_dir=work_dir, uid=self.uid, limits=limits, output_fds=outputs)
        pid = _raw_fork()
        if pid < 0:
            for fd in outputs:
                os.close(fd)
            raise OSError(ctypes.get_errno(), "fork failed")
        if pid == 0:
            child_main(socket.socket(fileno=fd), conf)
        os.close(fd)
        return _Job(pid, work_dir, spec["cpu"], spec["wall"], spec["out_cap"], outputs)

    def police(self, job: _Job) -> None:
        """Called every tick while a job runs: enforce its CPU and wall limits."""
        self.reap(job)
        if job.timed_out:
            return
        job.cpu_seen = self.cpu_of(job)
        if job.cpu_seen > job.cpu_limit:
            job.timed_out = "cpu"
        elif time.monotonic() - job.started > job.wall_limit:
            job.timed_out = "wall"
        if job.timed_out:
            self.kill_tree(job)

    def finish(self, job: _Job) -> dict[str, Any]:
        wall = time.monotonic() - job.started
        # kill first: until the program is gone, every page this process writes is copied (copy-on-write)
        before = 0.0 if self.isolated else self.cpu_of(job)
        self.kill_tree(job)
        # as pid 1 we reaped every process of the job, so their exact CPU times are all in reaped_cpu
        cpu = max(before, job.reaped_cpu)
        out = {}
        for key, fd in zip(("stdout", "stderr"), job.output_fds, strict=True):
            out[key] = os.pread(fd, job.out_cap, 0).decode("utf-8", "replace")
            os.close(fd)
        try:
            os.rmdir(job.work_dir)  # most programs leave nothing behind
        except OSError:
            _rmtree(job.work_dir)
        return {"cpu": cpu, "wall": wall, "timed_out": job.timed_out, **out}

    def serve(self) -> None:
        job: _Job | None = None
        while True:
            tick = job.next_check() if job else None
            ready, _, _ = select.select([self.ctrl], [], [], tick)
            if not ready:
                if job is not None:
                    self.police(job)
                continue
            data, fds, _flags, _addr = socket.recv_fds(self.ctrl, 65536, 1)
            if not data:
                return
            msg = json.loads(data)
            if msg["op"] == "start" and fds:
                job = self.start(msg, fds[0])
            elif msg["op"] == "end" and job is not None:
                self.ctrl.send(_report_bytes(self.finish(job)))
                job = None
            elif msg["op"] == "quit":
                return


def _rmtree(path: str) -> None:
    """Remove what a program left in its job dir (rare: shutil is imported only then, since every module the
    zygote holds is memory each fork copies)."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _uid_mapped(uid: int) -> bool:
    """Whether `uid` exists in our user namespace (inside a user namespace often only root is mapped)."""
    try:
        with open("/proc/self/uid_map", encoding="ascii") as fh:
            ranges = [tuple(int(x) for x in line.split()) for line in fh if line.strip()]
    except OSError:
        return True
    return any(inside <= uid < inside + count for inside, _outside, count in ranges)


def _process_cpu(pid: int) -> float | None:
    """CPU seconds `pid` (all its threads) has used, to the nanosecond; None if the clock is unavailable."""
    clock = ctypes.c_int()
    if isolation.libc.clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        return None
    try:
        return time.clock_gettime(clock.value)
    except OSError:  # the process is gone
        return None


def _raw_fork() -> int:
    """fork(2) without CPython's after-fork work (thread-state rebuild, at-fork hooks), which writes to
    hundreds of pages inherited copy-on-write. Safe here because the zygote is single-threaded and never
    forks while importing; the child reseeds `random` itself (see child.confine)."""
    return int(isolation.libc.fork())


def _report_bytes(report: dict[str, Any]) -> bytes:
    """The end-of-job report as one datagram: escaped control characters could make it too big, so shrink."""
    data = json.dumps(report, ensure_ascii=False).encode()
    if len(data) > 150_000:
        report = {**report, "stdout": report["stdout"][:2000], "stderr": report["stderr"][:2000]}
        data = json.dumps(report, ensure_ascii=False).encode()
    return data


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the harness handles Ctrl-C and tears us down
    isolation.prctl(isolation.PR_SET_PDEATHSIG, signal.SIGKILL)  # checker gone -> we go, and our namespace too
    ctrl = socket.socket(fileno=int(sys.argv[1]))
    zygote = Zygote(ctrl, json.loads(sys.argv[2]))
    zygote.setup()
    # children share our pages copy-on-write; a GC pass in a child would touch (and copy) every one of them
    gc.collect()
    gc.freeze()
    ctrl.send(json.dumps({"isolated": zygote.isolated, "degraded": zygote.degraded}).encode())
    zygote.serve()
