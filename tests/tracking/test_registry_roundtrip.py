"""The registry round trip with real components: SmolLM2's weights registered on a real MLflow server
(`assay tracking serve`), then evaluated as models:/InstructionFollower@champion from a fresh folder whose
model caches are empty (the "other machine"), with the same results as the original run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assay.tracking.server import free_port
from tests.conftest import assay_cmd

pytestmark = pytest.mark.integration
LIMIT = "20"


def _assay(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(assay_cmd(*args), cwd=cwd, env=env, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"assay {' '.join(args)}: {done.stderr[-3000:]}"
    return done


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[str]:
    """`assay tracking serve` on 127.0.0.1 with its own store (sqlite + proxied artifacts)."""
    port = free_port()
    store = tmp_path / "server-store"
    proc = subprocess.Popen(
        assay_cmd("tracking", "serve", "--port", str(port), "--backend-store", str(store)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, "assay tracking serve exited"
            try:
                if httpx.get(url + "/health", timeout=2).text == "OK":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server was not healthy in 180 s"
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)


def _results(run_dir: Path) -> tuple[dict[str, float], list[list[float]], str]:
    summary = json.loads((run_dir / "summary.json").read_text())
    metrics = {k: v["value"] for k, v in summary["results"][0]["metrics"].items()}
    (samples,) = (run_dir / "samples").glob("*_arc_easy.jsonl")
    lls = [json.loads(line)["loglikelihoods"] for line in samples.read_text().splitlines()]
    return metrics, lls, summary["models"][0]["fingerprint"]


def test_registered_weights_evaluate_on_another_machine(tmp_path: Path, server: str, data_dir: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    env = {**os.environ, "MLFLOW_TRACKING_URI": server, "MLFLOW_DISABLE_TELEMETRY": "true"}
    run = ["run", "--tasks", "arc_easy", "--limit", LIMIT, "--data-dir", str(data_dir), "--output", "runs",
           "--leaderboard", "lb.csv", "--no-cache", "-q"]  # fmt: skip
    _assay(*run, "--model", "smollm2-135m", cwd=here, env=env)
    (original,) = (here / "runs").iterdir()
    registered = _assay(
        "registry", "register", "InstructionFollower", "--model", "smollm2-135m", "--run", str(original),
        cwd=here, env=env,
    )  # fmt: skip
    assert "logged 6 files" in registered.stdout, registered.stdout
    _assay("registry", "promote", "InstructionFollower", "1", "--alias", "champion", cwd=here, env=env)

    # the other machine: nothing cached, no converted alias folder, only the server's address
    elsewhere = {**env, "ASSAY_CACHE": str(there / "cache"), "ASSAY_MODELS_DIR": str(there / "models")}
    done = _assay(*run, "--model", "models:/InstructionFollower@champion", cwd=there, env=elsewhere)
    assert "downloading InstructionFollower version 1" in done.stderr
    assert list((there / "cache" / "registry" / "InstructionFollower").glob("v1-*/model.safetensors"))
    assert not (there / "models").exists()  # the alias was never converted there
    (copy,) = (there / "runs").iterdir()
    assert _results(copy) == _results(original)
