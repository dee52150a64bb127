"""Fixtures: a migrated MLflow store per test, copied from one made per session (migrating takes ~8 s)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("mlflow", reason="tracking tests need mlflow (pip install 'assay[tracking]')")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from assay.tracking.store import get_client, sqlite_uri

    db = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    get_client(sqlite_uri(db))
    return db


@pytest.fixture
def store(tmp_path: Path, migrated_db: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh embedded store (mlflow.db + mlartifacts/) in the test's working directory."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(migrated_db, work / "mlflow.db")
    monkeypatch.chdir(work)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    yield f"sqlite:///{work / 'mlflow.db'}"
