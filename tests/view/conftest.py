"""Run folders for the explorer tests, written by `assay run --model fake` (fast, deterministic).

a      fake (seed 0) on 20 rows of arc_easy, hellaswag and gsm8k
b      fake (seed 1) on the same rows: the other side of the compare view
code   fake on tests/view/code_task.yaml: a real sandboxed run, one program failing a test after
       writing to stderr, one passing
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import data_dir_or_skip

HERE = Path(__file__).parent


def assay(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assay.cli.main", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip


@dataclass(frozen=True)
class ViewRuns:
    root: Path
    a: Path
    b: Path
    code: Path
    env: dict[str, str]


def _run(root: Path, env: dict[str, str], *args: str) -> Path:
    before = set((root / "runs").glob("*")) if (root / "runs").exists() else set()
    done = assay("run", "--model", "fake", *args, "--output", "runs", "--no-leaderboard", "-q", cwd=root, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    [new] = set((root / "runs").glob("*")) - before
    return new


@pytest.fixture(scope="session")
def view_runs(tmp_path_factory: pytest.TempPathFactory) -> ViewRuns:
    data = str(data_dir_or_skip())
    root = tmp_path_factory.mktemp("view")
    env = {**os.environ, "ASSAY_CACHE": str(root / "cache")}
    tasks = ("--tasks", "arc_easy,hellaswag,gsm8k", "--limit", "20", "--data-dir", data)
    a = _run(root, env, *tasks)
    time.sleep(1.1)  # run ids hold the second: a distinct one for each run
    b = _run(root, env, *tasks, "--model-args", "seed=1")
    time.sleep(1.1)
    code = _run(root, env, "--tasks", str(HERE / "code_task.yaml"))
    return ViewRuns(root, a, b, code, env)


class ViewServer:
    """`assay view ...` in a subprocess, its output in a file (a full pipe would block it)."""

    def __init__(self, runs: list[Path], log: Path, env: dict[str, str]) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "assay.cli.main", "view", *map(str, runs), "--port", "0"]
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())
            if found:
                self.url = found.group(0)
                return
            if self.proc.poll() is not None:
                pytest.fail(f"assay view exited with {self.proc.returncode}: {log.read_text()}")
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"assay view did not start: {log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def view_server(tmp_path: Path, view_runs: ViewRuns) -> Iterator[type[ViewServer]]:
    started: list[ViewServer] = []

    class Started(ViewServer):
        def __init__(self, runs: list[Path]) -> None:
            super().__init__(runs, tmp_path / f"view{len(started)}.log", view_runs.env)
            started.append(self)

    yield Started
    for server in started:
        server.stop()
