"""What crosses the pipe between the trusted checker and a sandboxed program: framed plain data.

The program's answers are JSON, read by a strict parser. The checker's requests (the program's source, the
arguments of calls) are `marshal`, which the program's side reads with one C call: marshal is not safe against
hostile bytes, but only the checker writes in that direction.

Only values of built-in types cross, so an object the program made (with an `__eq__` that always says True,
say) never reaches the checker: the checker compares fresh built-in values it decoded itself. Anything else the
program returns stays in the sandbox and is represented by an opaque handle the checker can pass back, ask for
attributes, or iterate, but which equals nothing but itself.

    JSON null/bool/int/float/str/list  as themselves      {"t": [...]}  tuple      {"d": [[k, v], ...]}  dict
    {"s": [...]} set   {"f": [...]} frozenset   {"b": "<base64>"} bytes   {"c": [re, im]} complex
    {"i": "<hex>"} a big int (JSON ints are limited to 4300 digits)       {"r": id, "n": type name} a handle
"""

from __future__ import annotations

import base64
import json
import marshal
import socket
import struct
from collections.abc import Callable
from typing import Any

MAX_FRAME = 16 * 1024 * 1024  # a bigger answer is refused, not allocated
MAX_DEPTH = 64
_HEADER = struct.Struct(">I")


class WireError(Exception):
    """The other side broke the protocol: bad frame, bad JSON, bad shape, too big or too deep."""


class Closed(WireError):
    """The other side closed the connection (it exited or was killed)."""


class Channel:
    """A framed, buffered view of a stream socket: one recv() usually brings a whole frame.

    `send_marshal` is for the checker's end (its peer reads marshal), `recv_marshal` for the program's end."""

    def __init__(self, sock: socket.socket, *, send_marshal: bool = False, recv_marshal: bool = False) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.send_marshal = send_marshal
        self.recv_marshal = recv_marshal

    def send(self, obj: Any) -> None:
        """Send one length-prefixed frame."""
        data = marshal.dumps(obj) if self.send_marshal else json.dumps(obj, separators=(",", ":")).encode()
        self.sock.sendall(_HEADER.pack(len(data)) + data)

    def _fill(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(max(65536, min(n - len(self.buf), 1 << 20)))
            if not chunk:
                raise Closed("connection closed")
            self.buf += chunk

    def recv(self, max_frame: int = MAX_FRAME) -> Any:
        """Receive one frame; raises Closed on EOF and WireError on anything malformed or oversized."""
        self._fill(_HEADER.size)
        (size,) = _HEADER.unpack_from(self.buf)
        if size > max_frame:
            raise WireError(f"answer of {size} bytes exceeds the {max_frame}-byte limit")
        self._fill(_HEADER.size + size)
        body = bytes(self.buf[_HEADER.size : _HEADER.size + size])
        del self.buf[: _HEADER.size + size]
        try:
            return marshal.loads(body) if self.recv_marshal else json.loads(body)
        except (ValueError, RecursionError, EOFError, TypeError) as exc:
            raise WireError(f"malformed answer: {exc}") from None


# ------------------------------------------------------------------------------------------------ encoding


def encode(value: Any, make_ref: Callable[[Any], dict[str, Any]], depth: int = 0) -> Any:
    """Turn a value into JSON-able plain data; values of other types become handles via `make_ref`.

    Subclasses of built-ins travel as their base type (a Counter as a dict): only the data crosses.
    """
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or type(value) in (bool, str, float):
        return value
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        value = int(value)
        return value if -(1 << 63) <= value < (1 << 63) else {"i": format(value, "x")}
    if isinstance(value, list):
        return [encode(v, make_ref, depth + 1) for v in value]
    if isinstance(value, tuple):
        return {"t": [encode(v, make_ref, depth + 1) for v in value]}
    if isinstance(value, dict):
        return {
            "d": [[encode(k, make_ref, depth + 1), encode(v, make_ref, depth + 1)] for k, v in value.items()]
        }
    if isinstance(value, frozenset):
        return {"f": [encode(v, make_ref, depth + 1) for v in value]}
    if isinstance(value, set):
        return {"s": [encode(v, make_ref, depth + 1) for v in value]}
    if isinstance(value, bytes | bytearray):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, complex):
        return {"c": [value.real, value.imag]}
    return make_ref(value)


def decode(data: Any, make_handle: Callable[[int, str], Any], depth: int = 0) -> Any:
    """Strictly rebuild built-in values from `encode`'s output; raises WireError on any other shape."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if data is None or type(data) in (bool, int, float, str):
        return data
    if type(data) is list:
        return [decode(v, make_handle, depth + 1) for v in data]
    if type(data) is not dict or len(data) != (2 if "r" in data else 1):
        raise WireError(f"unexpected value shape {type(data).__name__}")
    try:
        return _decode_tagged(data, make_handle, depth)
    except (TypeError, ValueError, KeyError) as exc:  # unhashable keys, bad base64, bad hex, ...
        raise WireError(f"malformed value: {exc}") from None


def _decode_tagged(data: dict[str, Any], make_handle: Callable[[int, str], Any], depth: int) -> Any:
    (tag,) = [k for k in data if k != "n"]
    body = data[tag]

    def items() -> list[Any]:
        if type(body) is not list:
            raise WireError(f"tag {tag!r} needs a list")
        return [decode(v, make_handle, depth + 1) for v in body]

    if tag == "t":
        return tuple(items())
    if tag == "s":
        return set(items())
    if tag == "f":
        return frozenset(items())
    if tag == "d":
        pairs = items()
        if not all(type(p) is list and len(p) == 2 for p in pairs):
            raise WireError("dict entries must be pairs")
        return {k: v for k, v in pairs}
    if tag == "b" and type(body) is str:
        return base64.b64decode(body.encode("ascii"), validate=True)
    if tag == "c" and type(body) is list and len(body) == 2 and all(type(x) in (int, float) for x in body):
        return complex(body[0], body[1])
    if tag == "i" and type(body) is str:
        return int(body, 16)
    if tag == "r" and type(body) is int and type(data.get("n")) is str:
        return make_handle(body, data["n"][:100])
    raise WireError(f"unknown tag {tag!r}")
