"""The sandboxed side: a forked child that confines itself, runs the untrusted program, then answers calls.

Runs in a fork of the zygote (which never saw any test code). After `confine` the process is an unprivileged
uid with no_new_privs and hard rlimits, its stdout/stderr are nameless in-memory files the zygote reads back, and its
environment is minimal. Everything it sends back is plain data (see wire.py); the checker decides the verdict.
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import os
import random
import socket
import sys
from dataclasses import dataclass
from typing import Any

from assay.sandbox.isolation import ProcessLimits, apply_rlimits, become
from assay.sandbox.wire import Channel, Closed, WireError, decode, encode

MAX_ITER_ITEMS = 100_000


@dataclass(frozen=True, slots=True)
class Confinement:
    """What the zygote decided for one child."""

    work_dir: str
    uid: int | None  # None: keep our uid (degraded mode, not root)
    limits: ProcessLimits
    output_fds: tuple[int, int]  # in-memory files (memfd) for stdout and stderr, which the zygote reads back


def confine(sock: socket.socket, conf: Confinement) -> None:
    """Shed everything the zygote had (fds, env, privileges) before any untrusted byte runs."""
    os.setsid()  # own process group: the degraded mode kills the tree with killpg
    # stdout/stderr are files without a name: nothing the program does to paths changes what the zygote reads
    os.dup2(conf.output_fds[0], 1)
    os.dup2(conf.output_fds[1], 2)
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.chdir(conf.work_dir)
    apply_rlimits(conf.limits)
    if conf.uid is not None:
        become(conf.uid)  # no groups and no_new_privs were set once by the zygote, and are inherited
    # the environment is child_environment(work_dir), set once by the zygote before it forked us
    random.seed()  # every child is a fork of the same zygote: do not share its random state


def child_environment(work_dir: str) -> dict[str, str]:
    """All a program finds in os.environ: no variable of the harness (API keys) reaches it."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work_dir, "TMPDIR": work_dir, "LANG": "C.UTF-8"}


class _Server:
    """Answers the checker's requests about the program's globals; non-plain values live in `refs`."""

    def __init__(self, chan: Channel) -> None:
        self.chan = chan
        self.globals: dict[str, Any] = {}
        self.refs: dict[int, Any] = {}

    def make_ref(self, value: Any) -> dict[str, Any]:
        ref_id = len(self.refs) + 1
        self.refs[ref_id] = value
        return {"r": ref_id, "n": type(value).__name__}

    def resolve(self, ref_id: int, _name: str) -> Any:
        return self.refs[ref_id]

    def target(self, spec: Any) -> Any:
        if isinstance(spec, str):
            if spec in self.globals:
                return self.globals[spec]
            raise NameError(f"name '{spec}' is not defined")
        return decode(spec, self.resolve)

    def handle(self, msg: dict[str, Any]) -> Any:
        op = msg["op"]
        if op == "call":
            args = decode(msg["a"], self.resolve)
            kwargs = {k: decode(v, self.resolve) for k, v in msg["k"].items()}
            return self.target(msg["f"])(*args, **kwargs)
        obj = self.target(msg["o"])
        if op == "getattr":
            return getattr(obj, msg["n"])
        if op == "setattr":
            setattr(obj, msg["n"], decode(msg["v"], self.resolve))
            return None
        if op == "iter":
            return list(itertools.islice(iter(obj), MAX_ITER_ITEMS))
        if op == "len":
            return len(obj)
        raise ValueError(f"unknown op {op!r}")

    def value_reply(self, value: Any) -> dict[str, Any]:
        try:
            return {"v": encode(value, self.make_ref)}
        except (WireError, RecursionError):
            return {"v": self.make_ref(value)}

    @staticmethod
    def error_reply(exc: BaseException) -> dict[str, Any]:
        base = next((c for c in type(exc).__mro__ if getattr(builtins, c.__name__, None) is c), Exception)
        try:
            text = str(exc)[:2000]
        except BaseException:  # a hostile __str__
            text = "<unprintable>"
        return {"e": [type(exc).__name__[:100], base.__name__, text]}

    def answer(self, msg: dict[str, Any]) -> dict[str, Any]:
        try:
            value = self.handle(msg)
        except BaseException as exc:
            _flush()
            return self.error_reply(exc)
        _flush()
        return self.value_reply(value)

    def run(self, program: str, batch: list[list[Any]]) -> None:
        """Run the program, answer the prefetched calls in the same reply, then serve live requests."""
        try:
            exec(compile(program, "<program>", "exec"), self.globals)  # noqa: S102 - this is the sandbox
        except BaseException as exc:
            _flush()
            self.chan.send(self.error_reply(exc))
            return
        _flush()
        answers = [self.answer({"op": "call", "f": f, "a": a, "k": k}) for f, a, k in batch]
        self.chan.send({"ok": True, "batch": answers})
        while True:
            self.chan.send(self.answer(self.chan.recv()))


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()


def child_main(sock: socket.socket, conf: Confinement) -> None:
    """Entry point in the forked child; never returns."""
    code = 0
    try:
        confine(sock, conf)
        chan = Channel(sock, recv_marshal=True)
        first = chan.recv()
        _Server(chan).run(first["src"], first.get("batch", []))
    except (Closed, BrokenPipeError, ConnectionResetError):
        pass
    except BaseException:
        code = 1
    finally:
        _flush()
        os._exit(code)
