"""Honest programs work in the sandbox as they would unconfined: imports, threads, subprocesses, files in
their own directory, big values. A sandbox that fails right answers fakes failures instead of passes."""

from __future__ import annotations

import textwrap

import pytest

from assay.sandbox import Check, Job, Limits

from .helpers import needs_root

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), needs_root]

PROGRAM = textwrap.dedent(
    """
    import calendar, concurrent.futures, queue, tempfile, threading, os, random, sys
    sys.setrecursionlimit(5000)

    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    def solve(x):
        out = []
        worker = threading.Thread(target=lambda: out.append(x * x))
        worker.start()
        worker.join()
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            assert list(ex.map(abs, [-1, -2])) == [1, 2]
        pid = os.fork()
        if pid == 0:
            os._exit(7)
        assert os.waitpid(pid, 0)[1] >> 8 == 7
        with open("scratch.txt", "w") as fh:
            fh.write("ok")
        with tempfile.NamedTemporaryFile() as fh:
            fh.write(b"ok")
        assert open("scratch.txt").read() == "ok" and calendar.isleap(2024) and depth(3000) == 3000
        return out[0]

    def big():
        return {"n": 3 ** 20000, "t": (1, [2, {3}]), "b": b"\\x00", "f": frozenset({1.5})}
    print(random.random())
    """
)


def test_honest_programs_are_not_hindered(sandbox):
    expected = "{'n': 3 ** 20000, 't': (1, [2, {3}]), 'b': b'\\x00', 'f': frozenset({1.5})}"
    check = Check(tests=("assert solve(5) == 25", f"assert big() == {expected}"), remote=("solve", "big"))
    outcomes = sandbox.run_batch([Job(program=PROGRAM, check=check, limits=Limits(cpu_seconds=5))] * 3)
    assert [o.status for o in outcomes] == ["passed"] * 3, [o.reason for o in outcomes]
    assert len({o.stdout for o in outcomes}) == 3, "each program has its own random state"


def test_random_checks_draw_the_same_inputs_for_every_program(sandbox):
    """The check's randomness is seeded per check, so every program answers the same inputs; after a passing
    run its calls are sent ahead with the next programs, which must not change any verdict."""
    check = Check(
        setup="import random\ndef check(candidate):\n    for _ in range(30):\n"
        "        x = random.randint(0, 10 ** 6)\n        assert candidate(x) == 2 * x, x\n",
        tests=("check(solve)",),
        remote=("solve",),
        key="double",
    )
    right = "def solve(x):\n    print(x)\n    return 2 * x\n"
    wrong = "def solve(x):\n    return 0 if x % 3 == 0 else 2 * x\n"
    outcomes = []
    for program in (right, right, wrong, right, wrong):
        outcomes += sandbox.run_batch([Job(program=program, check=check, limits=Limits(cpu_seconds=2))])
    assert [o.status for o in outcomes] == ["passed", "passed", "failed", "passed", "failed"]
    printed = [o.stdout.split() for o in outcomes if o.passed]
    assert len(printed[0]) == 30 and printed[0] == printed[1] == printed[2]
    first_multiple_of_3 = next(x for x in printed[0] if int(x) % 3 == 0)
    assert outcomes[2].reason == outcomes[4].reason == first_multiple_of_3
