"""Where tracking data lives and how to reach it.

Default (embedded): `mlflow.db` (sqlite) and `mlartifacts/` in the working directory, beside `runs/`
and `data/`.
`--tracking-uri` or MLFLOW_TRACKING_URI points elsewhere: another sqlite file or an MLflow server (http://...).
mlflow is imported lazily: it is an optional dependency (`pip install 'assay[tracking]'`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from assay.errors import TrackingError, require

if TYPE_CHECKING:
    from mlflow import MlflowClient

DEFAULT_DB = "mlflow.db"
DEFAULT_ARTIFACTS = "mlartifacts"


def quiet_mlflow_env() -> None:
    """No telemetry, fail fast against an unreachable server instead of retrying for minutes, and MLflow's and
    alembic's INFO lines ("Creating initial MLflow database tables...") off the terminal unless --debug
    (ASSAY_DEBUG=1): assay says itself where it logged."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    if os.environ.get("ASSAY_DEBUG", "").strip().lower() in {"", "0", "false", "no"}:
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")  # read when mlflow configures its loggers
        for name in ("mlflow", "alembic"):  # mlflow imported before this: its loggers are set already
            logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLogger(name).level))


def resolve_tracking_uri(uri: str | None = None) -> str:
    """The explicit URI, else MLFLOW_TRACKING_URI, else the embedded sqlite file in the working directory.

    A bare path is accepted too: a `.db` file or a folder (which then holds mlflow.db).
    """
    uri = uri or os.environ.get("MLFLOW_TRACKING_URI") or ""
    if not uri:
        return sqlite_uri(Path(DEFAULT_DB))
    if "://" in uri or uri.startswith("sqlite:"):
        return uri
    path = Path(uri)
    return sqlite_uri(path / DEFAULT_DB if path.is_dir() or not path.suffix else path)


def sqlite_uri(db: Path) -> str:
    return f"sqlite:///{db.resolve()}"


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def sqlite_path(uri: str) -> Path | None:
    """The database file of a sqlite URI (None for a server)."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def artifacts_root(uri: str) -> Path | None:
    """For an embedded store, the artifacts folder beside the database; a server decides for itself."""
    db = sqlite_path(uri)
    return None if db is None else db.parent / DEFAULT_ARTIFACTS


def require_store(tracking_uri: str | None) -> None:
    """Reading commands never create a store: a local sqlite file that does not exist holds no versions."""
    from assay.errors import TrackingError

    db = sqlite_path(resolve_tracking_uri(tracking_uri))
    if db is not None and not db.exists():
        raise TrackingError(
            f"no tracking store at {db}: no model is registered there",
            hint="register a version first (`assay registry register ...`), or pass --tracking-uri",
        )


def check_server(uri: str) -> None:
    """Raise TrackingError at once when a server URI does not answer /health."""
    import httpx

    try:
        response = httpx.get(uri.rstrip("/") + "/health", timeout=5.0)
    except httpx.HTTPError as exc:
        raise TrackingError(
            f"no MLflow server answers at {uri} ({type(exc).__name__})",
            hint="start one with `assay tracking serve`, or drop --tracking-uri to log to ./mlflow.db",
        ) from exc
    if response.status_code != 200:
        raise TrackingError(f"the MLflow server at {uri} is not healthy (HTTP {response.status_code})")


def get_client(tracking_uri: str | None = None) -> tuple[MlflowClient, str]:
    """An MlflowClient for tracking and the registry at one URI (created and migrated on first use)."""
    require("mlflow", "tracking")
    quiet_mlflow_env()
    from mlflow import MlflowClient

    uri = resolve_tracking_uri(tracking_uri)
    if is_server(uri):
        check_server(uri)
        return MlflowClient(tracking_uri=uri, registry_uri=uri), uri
    db = sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
        # the first client creates and migrates the schema; two processes doing it at once corrupt it
        with FileLock(str(db) + ".lock", timeout=300):
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_experiments(max_results=1)
        return client, uri
    return MlflowClient(tracking_uri=uri, registry_uri=uri), uri


def ensure_experiment(client: MlflowClient, uri: str, name: str, tags: dict[str, Any] | None = None) -> str:
    """The id of experiment `name`, creating it (with artifacts beside an embedded database) if needed."""
    from mlflow.exceptions import MlflowException

    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        return str(found.experiment_id)
    root = artifacts_root(uri)
    location = None
    if root is not None:
        from assay.runs.layout import safe_name

        location = (root / safe_name(name)).resolve().as_uri()
    try:
        return str(client.create_experiment(name, artifact_location=location, tags=tags))
    except MlflowException:
        # another process created it between our lookup and create
        again = client.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)
