"""Fixtures: a git + DVC repository in a temporary folder, with the real `dvc` and `assay` on PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dvc", reason="DVC tests need dvc (pip install 'assay[dvc]')")
BIN = Path(sys.executable).parent


def sh(*args: str, cwd: Path, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run a program (dvc, git, assay from this interpreter's environment) in `cwd`."""
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, f"{' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository with `dvc init` done (DVC's analytics off), as the working directory."""
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.setenv("PATH", f"{BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "assay-test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "assay-test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.invalid")
    assert shutil.which("git"), "git is needed"
    sh("git", "init", "-q", cwd=root)
    sh("dvc", "init", "-q", cwd=root)
    monkeypatch.chdir(root)
    return root
