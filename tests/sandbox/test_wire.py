"""The plain-data codec: what the program sends is rebuilt as fresh built-ins, or refused."""

from __future__ import annotations

import json
import socket
import struct
from collections import Counter, OrderedDict, namedtuple

import pytest

from assay.sandbox.wire import MAX_DEPTH, Channel, Closed, WireError, decode, encode


def no_refs(value):
    raise AssertionError(f"unexpected handle for {value!r}")


def roundtrip(value):
    return decode(json.loads(json.dumps(encode(value, no_refs))), lambda i, n: ("handle", i, n))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        2**200,
        -(2**70),
        1.5,
        float("inf"),
        "text",
        b"\x00\xff",
        3 + 4j,
        [1, [2]],
        (1, (2, "x")),
        {1: "a", (2, 3): [4]},
        {1, 2},
        frozenset({"a"}),
        {"nested": ({1}, frozenset(), (), [], {})},
    ],
)
def test_roundtrip_keeps_types_and_values(value):
    back = roundtrip(value)
    assert back == value and type(back) is type(value)


def test_subclasses_travel_as_their_base_type():
    Point = namedtuple("Point", "x y")
    assert type(roundtrip(Counter("aab"))) is dict and roundtrip(Counter("aab")) == {"a": 2, "b": 1}
    assert type(roundtrip(Point(1, 2))) is tuple
    assert type(roundtrip(OrderedDict(a=1))) is dict
    assert roundtrip(True) is True and type(roundtrip(1)) is int


def test_other_objects_become_handles():
    refs = []

    def make_ref(v):
        refs.append(v)
        return {"r": len(refs), "n": type(v).__name__}

    data = encode([object, len], make_ref)
    assert decode(data, lambda i, n: (i, n)) == [(1, "type"), (2, "builtin_function_or_method")]


@pytest.mark.parametrize(
    "bad",
    [
        {"x": 1},
        {"t": 1},
        {"d": [[1]]},
        {"d": [[[1], 2]]},
        {"b": "!!"},
        {"c": ["a", 1]},
        {"i": "zz"},
        {"r": "1", "n": "x"},
        {"t": [], "s": []},
        {"r": 1},
    ],
)
def test_decode_refuses_anything_else(bad):
    with pytest.raises(WireError):
        decode(bad, lambda i, n: None)


def test_depth_is_bounded_both_ways():
    deep: list = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(WireError):
        encode(deep, no_refs)
    with pytest.raises(WireError):
        decode(json.loads(json.dumps(deep)), lambda i, n: None)


def test_channel_frames_and_limits():
    a, b = socket.socketpair()
    with a, b:
        chan = Channel(b)
        Channel(a).send({"v": [1, 2]})
        Channel(a).send({"v": 3})
        assert chan.recv() == {"v": [1, 2]} and chan.recv() == {"v": 3}
        a.sendall(struct.pack(">I", 1 << 30))
        with pytest.raises(WireError, match="exceeds"):
            chan.recv(max_frame=1 << 20)
    c, d = socket.socketpair()
    with d:
        c.sendall(struct.pack(">I", 3) + b"{no")
        c.close()
        with pytest.raises(WireError):
            Channel(d).recv()
    e, f = socket.socketpair()
    with f:
        e.close()
        with pytest.raises(Closed):
            Channel(f).recv()


def test_checker_speaks_marshal_and_reads_only_json():
    checker_end, program_end = socket.socketpair()
    with checker_end, program_end:
        checker = Channel(checker_end, send_marshal=True)
        program = Channel(program_end, recv_marshal=True)
        request = {"src": "def f(x):\n    return x\n", "batch": [["f", [1, {"t": [2.5, None]}], {}]]}
        checker.send(request)
        assert program.recv() == request  # lists stay lists, so decode() on the program's side accepts them
        program.send({"v": [1, {"i": "ff"}]})
        assert checker.recv() == {"v": [1, {"i": "ff"}]}
        # a program that answers in marshal (or anything but JSON) breaks the protocol
        program_end.sendall(struct.pack(">I", 5) + b"\xe9\x01\x00\x00\x00")
        with pytest.raises(WireError, match="malformed"):
            checker.recv()
