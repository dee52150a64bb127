"""The `cli` fixture: the real `assay` entry point run in this process (a fresh interpreter per call costs a
second of imports), in an empty working folder, with exit code and output captured; `cli.spawn` runs it as a
separate process where a real process boundary matters (signals, resource limits)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assay.cli.main import main
from tests.conftest import assay_cmd


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file and folder under `folder`: a folder as 'dir', a file as the sha256 of its bytes."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        out[key] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return out


class Cli:
    """Runs assay in `work` (the current folder while it runs); remembers what the folder held before."""

    def __init__(self, work: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
        self.work = work
        self._capfd = capfd
        self._monkeypatch = monkeypatch
        self.before: dict[str, str] = {}

    def freeze(self) -> None:
        """Record the folder's contents: what a refused command must leave exactly as it was."""
        self.before = snapshot(self.work)

    def __call__(self, *args: str) -> Outcome:
        self._capfd.readouterr()
        self._monkeypatch.setattr(sys, "argv", ["assay", *args])
        try:
            main(list(args))
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        captured = self._capfd.readouterr()
        return Outcome(code, captured.out, captured.err)

    def spawn(
        self, *args: str, preexec: Callable[[], None] | None = None, env: dict[str, str] | None = None
    ) -> Outcome:
        done = subprocess.run(
            assay_cmd(*args), cwd=self.work, capture_output=True, text=True, timeout=120,
            preexec_fn=preexec, env={**os.environ, **(env or {})},
        )  # fmt: skip
        return Outcome(done.returncode, done.stdout, done.stderr)

    def setup(self, files: dict[str, str | bytes]) -> None:
        """Write the files, then freeze the folder."""
        for name, content in files.items():
            self.write(name, content)
        self.freeze()

    def write(self, name: str, content: str | bytes) -> Path:
        path = self.work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path


def assert_refused(outcome: Outcome, cli: Cli, *fragments: str, code: int = 2) -> None:
    """One `error:` line (plus at most a `hint:`), the exit code, no traceback, and the working folder exactly
    as it was before the command (nothing left behind, nothing pre-existing touched)."""
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert outcome.code == code, (outcome.code, outcome.err, outcome.out)
    assert "Traceback" not in outcome.err + outcome.out, outcome.err
    assert len(outcome.error_lines) == 1 and lines[0].startswith("error:"), outcome.err
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint:")), outcome.err
    for fragment in fragments:
        assert fragment in outcome.err, (fragment, outcome.err)
    assert snapshot(cli.work) == cli.before, "the refused command changed the working folder"


@pytest.fixture
def cli(tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("ASSAY_DEBUG", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("ASSAY_DATA_DIR", raising=False)
    return Cli(work, capfd, monkeypatch)
