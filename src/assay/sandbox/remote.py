"""The checker's view of a sandboxed program: proxies that forward calls over the pipe and decode plain data.

Test code calls `candidate(...)` (a RemoteFunction) exactly as it would call the function itself. What comes
back is a fresh built-in value the checker built, or a RemoteHandle that equals only itself. Exceptions the
program raised come back as mirrors of the nearest built-in exception class, so `except ValueError` in a test
still works.
Once the channel breaks (the program exited, was killed, or broke the protocol) the session is dead: every
later call raises SandboxGone, a BaseException so that `except Exception` in a test cannot swallow it, and the
checker never counts a dead session as a pass, whatever the test code did afterwards.
"""

from __future__ import annotations

import builtins
import socket
from collections import deque
from typing import Any

from assay.sandbox.wire import Channel, Closed, WireError, decode, encode


class SandboxGone(BaseException):
    """The sandboxed program can no longer answer (exited, killed, timed out or misbehaved)."""


class RemoteError(Exception):
    """An exception raised by the program that has no built-in counterpart."""


_MIRRORS: dict[type[BaseException], type[BaseException]] = {}


def _mirror(base: type[BaseException]) -> type[BaseException]:
    """A subclass of a built-in exception whose str() is the program's message, whatever its signature."""
    cls = _MIRRORS.get(base)
    if cls is None:

        def init(self: BaseException, message: str) -> None:
            BaseException.__init__(self, message)

        def text(self: BaseException) -> str:
            return str(self.args[0]) if self.args else ""

        cls = type(base.__name__, (base,), {"__init__": init, "__str__": text, "__module__": "sandbox"})
        _MIRRORS[base] = cls
    return cls


def rebuild_exception(name: str, base_name: str, message: str) -> Exception:
    """The checker-side stand-in for an exception the program raised."""
    base = getattr(builtins, base_name, None)
    if isinstance(base, type) and issubclass(base, Exception):
        try:
            exc = _mirror(base)(message)
            if isinstance(exc, Exception):
                return exc
        except Exception:
            pass
    return RemoteError(f"{name}: {message}" if message else name)


class Session:
    """One conversation with one sandboxed program."""

    def __init__(self, sock: socket.socket) -> None:
        self.chan = Channel(sock, send_marshal=True)
        self.dead = ""  # why the program stopped answering; "" while it is healthy
        self.prefetched: dict[str, deque[Any]] = {}
        self.trace: list[tuple[str, Any, Any, str]] = []  # every call of a named remote function, with its key

    def kill(self, reason: str) -> SandboxGone:
        self.dead = self.dead or reason
        return SandboxGone(self.dead)

    def request(self, msg: dict[str, Any]) -> Any:
        """Send one request and return its decoded answer (or raise the program's exception)."""
        if self.dead:
            raise SandboxGone(self.dead)
        try:
            self.chan.send(msg)
            reply = self.chan.recv()
        except (Closed, ConnectionError, BrokenPipeError):
            raise self.kill("program exited") from None
        except TimeoutError:
            raise self.kill("timed out") from None
        except WireError as exc:
            raise self.kill(f"protocol violation: {exc}") from None
        return self.answer(reply)

    def call(self, target: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call of a remote function or handle: answered from the prefetched replies when it was asked."""
        msg = {"op": "call", "f": target, "a": self.encode_args(list(args)),
               "k": {k: self.encode_args(v) for k, v in kwargs.items()}}  # fmt: skip
        if isinstance(target, str):
            key = call_key(target, msg["a"], msg["k"])
            self.trace.append((target, msg["a"], msg["k"], key))
            queue = self.prefetched.get(key)
            if queue:
                if self.dead:
                    raise SandboxGone(self.dead)
                return self.answer(queue.popleft())
        return self.request(msg)

    def preload(self, keys: list[str], replies: list[Any]) -> None:
        """Keep the replies to the prefetched calls (identified by their call_key); `call` hands them out in
        order."""
        for key, reply in zip(keys, replies, strict=True):
            self.prefetched.setdefault(key, deque()).append(reply)

    def answer(self, reply: Any) -> Any:
        """Decode one reply: a value, or the program's exception re-raised; anything else is a violation."""
        if type(reply) is dict and len(reply) == 1:
            if "v" in reply:
                try:
                    return decode(reply["v"], self.handle)
                except (WireError, RecursionError, MemoryError) as exc:
                    raise self.kill(f"protocol violation: {exc}") from None
            err = reply.get("e")
            if type(err) is list and len(err) == 3 and all(type(x) is str for x in err):
                raise rebuild_exception(err[0][:100], err[1], err[2][:2000])
        raise self.kill("protocol violation: unexpected reply")

    def handle(self, ref_id: int, type_name: str) -> RemoteHandle:
        return RemoteHandle(self, ref_id, type_name)

    def encode_args(self, value: Any) -> Any:
        def as_ref(v: Any) -> dict[str, Any]:
            if isinstance(v, RemoteHandle) and object.__getattribute__(v, "_session") is self:
                return {"r": object.__getattribute__(v, "_id"), "n": ""}
            raise TypeError(f"cannot pass a {type(v).__name__} into the sandbox")

        return encode(value, as_ref)


def has_handle(encoded: Any) -> bool:
    """Whether an encoded value refers to an object that lives in one program's sandbox."""
    if type(encoded) is dict:
        return "r" in encoded or any(has_handle(v) for v in encoded.values())
    if type(encoded) is list:
        return any(has_handle(v) for v in encoded)
    return False


def call_key(name: str, args: Any, kwargs: dict[str, Any]) -> str:
    """Identifies a call by its encoded arguments (encode's output: repr tells 1, 1.0 and True apart, as JSON
    does, and is several times cheaper than json.dumps)."""
    return repr((name, args, sorted(kwargs.items()) if kwargs else ()))


class RemoteFunction:
    """A global of the program (usually the entry point), callable from test code."""

    __slots__ = ("_session", "_name")

    def __init__(self, session: Session, name: str) -> None:
        self._session = session
        self._name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._session.call(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<sandboxed {self._name}>"


class RemoteHandle:
    """A non-plain value that stayed in the sandbox. It can be passed back, called, iterated, have attributes
    read and set; it equals only itself, so it can never satisfy an equality test by its own say-so."""

    __slots__ = ("_session", "_id", "_type")

    def __init__(self, session: Session, ref_id: int, type_name: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_id", ref_id)
        object.__setattr__(self, "_type", type_name)

    def _ref(self) -> dict[str, Any]:
        return {"r": object.__getattribute__(self, "_id"), "n": ""}

    def _ask(self, msg: dict[str, Any]) -> Any:
        return object.__getattribute__(self, "_session").request({**msg, "o": self._ref()})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return object.__getattribute__(self, "_session").call(self._ref(), args, kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._ask({"op": "getattr", "n": name})

    def __setattr__(self, name: str, value: Any) -> None:
        s = object.__getattribute__(self, "_session")
        self._ask({"op": "setattr", "n": name, "v": s.encode_args(value)})

    def __iter__(self) -> Any:
        return iter(self._ask({"op": "iter"}))

    def __len__(self) -> int:
        n = self._ask({"op": "len"})
        if type(n) is not int:
            raise TypeError("len() of a sandboxed object did not return an int")
        return n

    def __eq__(self, other: object) -> bool:
        return other is self

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"<sandboxed {object.__getattribute__(self, '_type')} object>"
