"""Start and stop a local MLflow tracking server (sqlite backend, proxied artifacts) on 127.0.0.1.

The server reads the same `mlflow.db` / `mlartifacts/` pair the embedded store writes, so runs logged
without a server show up in its UI. Its log goes to `mlflow-server.log` in the store folder.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from assay.errors import TrackingError, UsageError, require
from assay.tracking.store import DEFAULT_ARTIFACTS, DEFAULT_DB, get_client, sqlite_uri

LOG_NAME = "mlflow-server.log"


@dataclass
class ServerHandle:
    """A running server: its process (leader of its own process group) and address."""

    process: subprocess.Popen[bytes]
    url: str
    store_dir: Path

    @property
    def log_path(self) -> Path:
        return self.store_dir / LOG_NAME

    def stop(self, timeout: float = 15.0) -> None:
        """Terminate the server and its workers; kill them if they do not exit within `timeout`."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        except ProcessLookupError:
            pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _port_taken(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) == 0


def server_command(store_dir: Path, host: str, port: int) -> list[str]:
    """The `mlflow server` command line for a store folder."""
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", sqlite_uri(store_dir / DEFAULT_DB),
        "--artifacts-destination", str((store_dir / DEFAULT_ARTIFACTS).resolve()),
        "--host", host, "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def start_server(
    store_dir: Path | str = ".", port: int | None = None, host: str = "127.0.0.1", timeout: float = 180.0
) -> ServerHandle:
    """Start `mlflow server` on a store folder and return once GET /health answers OK."""
    require("mlflow", "tracking")
    store = Path(store_dir).resolve()
    store.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    if _port_taken(host, port):
        raise UsageError(f"port {port} on {host} is already in use", hint="pick another with --port")
    # migrate the schema here, under assay's lock, so the server never races an embedded writer
    get_client(sqlite_uri(store / DEFAULT_DB))
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    log = (store / LOG_NAME).open("ab")
    process = subprocess.Popen(
        server_command(store, host, port),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    log.close()
    handle = ServerHandle(process, f"http://{host}:{port}", store)
    try:
        wait_healthy(handle, timeout)
    except BaseException:
        handle.stop()
        raise
    return handle


def wait_healthy(handle: ServerHandle, timeout: float) -> None:
    """Poll /health until OK; raise TrackingError (with the log's tail) if the server dies or times out."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise TrackingError(
                f"the MLflow server exited with code {handle.process.returncode}: {_tail(handle.log_path)}",
                hint=f"see {handle.log_path}",
            )
        try:
            if httpx.get(handle.url + "/health", timeout=2.0).text.strip() == "OK":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TrackingError(f"the MLflow server at {handle.url} was not healthy after {timeout:.0f} s")


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])
