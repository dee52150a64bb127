"""Shared fixtures: the benchmark data folder with MT-Bench in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import data_dir_or_skip


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared data folder (tests.conftest: fails in CI when absent), which must hold MT-Bench."""
    folder = data_dir_or_skip()
    if not (folder / "lmsys" / "mt_bench" / "question.jsonl").exists():
        pytest.fail(f"MT-Bench data not found under {folder}")
    return folder
