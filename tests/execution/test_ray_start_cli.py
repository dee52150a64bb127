"""A cluster started as users start one: `ray start --head` plus a second node, token authentication on.

Ray 2.60 turns token authentication on for a head that `ray start` starts when a token exists (here one in a
file named by RAY_AUTH_TOKEN_PATH). assay must join it (reading the token as Ray's clients do), give the local
results byte for byte, name a missing or wrong token in one line, and, once the head is killed, start its own
private cluster instead of trying to join the dead one Ray keeps on record.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, assay_cmd

pytestmark = pytest.mark.integration
pytest.importorskip("ray")

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass(frozen=True)
class StartedCluster:
    address: str
    root: Path  # HOME, RAY_TMPDIR (where Ray keeps its record of the current cluster) and the token file
    groups: tuple[int, ...]  # process groups of the head and of the second node

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a user on this machine: no token unless `extra` gives one."""
        mine = ("RAY_AUTH", "RAY_ADDRESS", "RAY_ENABLE_WINDOWS")  # the tests' cluster set-up leaves none of these
        base = {k: v for k, v in os.environ.items() if not k.startswith(mine)}
        return {**base, "HOME": str(self.root / "home"), "RAY_TMPDIR": str(self.root), **extra}

    @property
    def token_env(self) -> dict[str, str]:
        return self.env(RAY_AUTH_TOKEN_PATH=str(self.root / "token"))


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _ray_start(args: list[str], env: dict[str, str]) -> int:
    """`ray start ...` in its own process group (its processes stay in it); returns the group id."""
    proc = subprocess.Popen([RAY, "start", "--disable-usage-stats", *args], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        _kill(proc.pid)
        pytest.fail(f"ray start {' '.join(args)} failed:\n{out}")
    assert "Token authentication is enabled" in out or "--address" in args, out
    return proc.pid


def _kill(group: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(group, signal.SIGKILL)


@pytest.fixture(scope="module")
def started() -> Iterator[StartedCluster]:
    root = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths live under it
    (root / "home").mkdir()
    (root / "token").write_text(uuid.uuid4().hex)
    port, dash, agent_a, agent_b = _free_ports(4)
    cluster = StartedCluster(f"127.0.0.1:{port}", root, ())
    env = cluster.token_env
    groups: list[int] = []
    try:
        groups.append(_ray_start(["--head", "--port", str(port), "--node-ip-address", "127.0.0.1", "--num-cpus", "1",
                                  "--include-dashboard", "false", "--dashboard-port", str(dash),
                                  "--dashboard-agent-listen-port", str(agent_a)], env))  # fmt: skip
        # Ray rewrites the address "127.0.0.1" into the machine's interface address, where this head does not
        # listen; the same address spelled 127.000.000.001 is not taken for loopback and is left alone
        groups.append(_ray_start(["--address", f"127.000.000.001:{port}", "--node-ip-address", "127.0.0.1",
                                  "--num-cpus", "2", "--dashboard-agent-listen-port", str(agent_b)],
                                 {**env, "RAY_AUTH_MODE": "token"}))  # fmt: skip
        yield StartedCluster(cluster.address, root, tuple(groups))
    finally:
        for group in groups:
            _kill(group)
        shutil.rmtree(root, ignore_errors=True)


def _assay(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(assay_cmd(*args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _run_args(out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "fake", "--tasks", "arc_easy", "--limit", "5", "--data-dir", str(SHARED_DATA),
            "--quiet", "--no-leaderboard", "--output", str(out), *extra]  # fmt: skip


def _folder(out: Path) -> Path:
    return next(p for p in out.iterdir() if not p.name.endswith(".partial"))


def _same_run(a: Path, b: Path) -> None:
    name = "fake_arc_easy.jsonl"
    assert (a / "samples" / name).read_bytes() == (b / "samples" / name).read_bytes()
    assert (a / "metrics.json").read_bytes() == (b / "metrics.json").read_bytes()


def test_run_and_check_code_on_a_ray_start_cluster_match_local(
    started: StartedCluster, tmp_path: Path, data_dir: Path
) -> None:
    env = started.token_env
    local = _assay(_run_args(tmp_path / "local"), env, tmp_path)
    assert local.returncode == 0, local.stderr
    ray = _assay(_run_args(tmp_path / "ray", "--executor", "ray", "--ray-address", started.address, "--workers",
                           "3"), env, tmp_path)  # fmt: skip
    assert ray.returncode == 0, ray.stderr
    assert "gcs_client" not in ray.stderr and "InvalidAuthToken" not in ray.stderr
    _same_run(_folder(tmp_path / "local"), _folder(tmp_path / "ray"))
    workers = json.loads((_folder(tmp_path / "ray") / "summary.json").read_text())["stats"]["fake"]["workers"]
    assert len(workers) == 3  # room for 3 workers: the cluster has both nodes (1 + 2 CPUs)

    from assay.code.score import load_problems

    problems = load_problems("example")
    rows = [{"task_id": t, "completion": p.reference or ""} for t, p in problems.items()]
    rows += [{"task_id": t, "completion": "    return None\n"} for t in problems]
    results = []
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--ray-address", started.address])):
        samples = tmp_path / f"{name}.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        done = _assay(["check-code", str(samples), "--problems", "example", "--k", "1", *extra], env, tmp_path)
        assert done.returncode == 0, done.stderr
        results.append((tmp_path / f"{name}.jsonl_results.jsonl").read_bytes())
    assert results[0] == results[1]
    assert [json.loads(row)["passed"] for row in results[0].splitlines()].count(True) == len(problems)


@pytest.mark.parametrize(
    ("token", "cause"),
    [
        ({}, "it requires token authentication and assay found no token"),
        ({"RAY_AUTH_TOKEN": "not-the-token"}, "the token read from RAY_AUTH_TOKEN is not the cluster's"),
    ],
)
def test_a_missing_or_wrong_token_is_one_line_naming_it(
    started: StartedCluster, tmp_path: Path, token: dict[str, str], cause: str
) -> None:
    began = time.monotonic()
    for args in (
        _run_args(tmp_path / "runs", "--executor", "ray", "--ray-address", started.address),
        ["check-code", str(tmp_path / "none.jsonl"), "--executor", "ray", "--ray-address", started.address],
    ):
        done = _assay(args, started.env(**token), tmp_path, timeout=60)
        lines = done.stderr.splitlines()
        assert done.returncode == 2, done.stderr
        assert lines[0] == f"error: the Ray cluster at {started.address} refused assay's token: {cause}"
        assert len(lines) == 2 and lines[1].startswith("hint: ") and "RAY_AUTH_TOKEN_PATH" in lines[1]
    assert time.monotonic() - began < 40
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_after_the_head_is_killed_a_run_without_address_starts_its_own_cluster(
    started: StartedCluster, tmp_path: Path
) -> None:
    """Ray keeps the killed head on record (RAY_TMPDIR/ray/ray_current_cluster); joining it would hang."""
    _kill(started.groups[0])
    record = started.root / "ray" / "ray_current_cluster"
    assert record.read_text().strip().endswith(started.address.rpartition(":")[2])
    for env in (started.token_env, {**started.token_env, "RAY_ADDRESS": started.address}):
        out = tmp_path / env.get("RAY_ADDRESS", "record").replace(":", "_")
        done = _assay(_run_args(out, "--executor", "ray", "--workers", "2"), env, tmp_path, timeout=150)
        assert done.returncode == 0, done.stderr
        summary = json.loads((_folder(out) / "summary.json").read_text())
        assert len(summary["stats"]["fake"]["workers"]) == 2
