"""The `gate` fixture: the real CLI entry point, run in this process, with exit code and output captured."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from assay.cli.main import main


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture()
def gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Run the real CLI entry point in-process (a fresh interpreter per call costs seconds of imports)."""
    monkeypatch.chdir(tmp_path)

    def run(*args: str) -> Result:
        capsys.readouterr()
        argv = (
            ["assay", "gate", *args]
            if "--output" in args
            else ["assay", "gate", "--output", str(tmp_path / "runs"), *args]
        )
        monkeypatch.setattr(sys, "argv", argv)
        monkeypatch.setenv("COLUMNS", "200")
        with pytest.raises(SystemExit) as done:
            main()
        out = capsys.readouterr()
        return Result(int(done.value.code or 0), out.out, out.err)

    return run
