"""Shared fixtures: the benchmark data folder (tests needing it skip only when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT_DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    folder = Path(os.environ.get("ASSAY_DATA_DIR") or DEFAULT_DATA).resolve()
    if not (folder / "lmsys" / "mt_bench" / "question.jsonl").exists():
        pytest.skip(f"MT-Bench data not found under {folder} (set ASSAY_DATA_DIR)")
    return folder
