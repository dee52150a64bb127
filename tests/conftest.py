"""Shared fixtures: where the benchmark data lives, and an isolated cache per test (models are shared)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASSAY_TEST_DATA_DIR", REPO.parent / "shared" / "data"))


def data_dir_or_skip() -> Path:
    """The shared benchmark data folder; in CI it must exist (a missing folder fails instead of skipping)."""
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI run without the benchmark data folder {SHARED_DATA}")
    pytest.skip(f"benchmark data folder {SHARED_DATA} is absent")


@pytest.fixture
def data_dir() -> Path:
    return data_dir_or_skip()


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own response cache; converted model folders stay shared (converting costs ~30 s)."""
    cache = tmp_path / "assay-cache"
    monkeypatch.setenv("ASSAY_CACHE", str(cache))
    monkeypatch.setenv("ASSAY_MODELS_DIR", os.environ.get("ASSAY_MODELS_DIR", str(_default_models_dir())))
    return cache


def _default_models_dir() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("assay")) / "models"


def assay_cmd(*args: str) -> list[str]:
    """Command line that runs the assay CLI with this interpreter."""
    return [sys.executable, "-m", "assay.cli.main", *args]
