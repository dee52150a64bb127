"""The `cli` fixture: assay's real entry point run in-process (a new interpreter per call costs seconds)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assay.cli.main import main


@dataclass
class CliResult:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """cli(*args, cwd=PATH) -> exit code and captured output of `assay *args` run in `cwd`."""

    def run(*args: str, cwd: Path) -> CliResult:
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", ["assay", *args])
        monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich does not fold the names asserted on
        capsys.readouterr()
        code = 0
        try:
            main()
        except SystemExit as done:
            code = int(done.code or 0)
        out = capsys.readouterr()
        return CliResult(code, out.out, out.err)

    return run
