"""A real MLflow server started by `assay tracking serve`.

Runs logged before it started and runs logged over HTTP (artifacts uploaded through it) are read back through
its REST API, and shown once in headless Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from platformdirs import user_cache_dir

from assay.tracking.server import free_port
from tests.conftest import SHARED_DATA, data_dir_or_skip
from tests.tracking.runfolders import write_run

pytestmark = pytest.mark.integration
ASSAY = [sys.executable, "-m", "assay.cli.main"]


def _assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ASSAY, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `assay run --track` evaluated smollm2-135m on 2 ARC-Easy rows (embedded store)."""
    work = tmp_path_factory.mktemp("served")
    if not SHARED_DATA.is_dir():
        return work  # the real-run test skips; the other server tests still run
    env = {**os.environ, "ASSAY_CACHE": str(work / "cache"), "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.setdefault("ASSAY_MODELS_DIR", str(Path(user_cache_dir("assay")) / "models"))
    args = ["run", "--model", "smollm2-135m", "--tasks", "arc_easy", "--limit", "2", "--track", "-q",
            "--data-dir", str(SHARED_DATA), "--output", "runs", "--leaderboard", "lb.csv"]  # fmt: skip
    done = subprocess.run([*ASSAY, *args], cwd=work, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return work


@pytest.fixture(scope="module")
def served(real_run: Path) -> Iterator[tuple[str, Path, str]]:
    """The store of `real_run` plus one more run logged after the fact, then `assay tracking serve` on it."""
    work = real_run
    run_dir = write_run(work / "runs", run_id="20261123-100000-aaaaaa", n=12, accuracy=0.5)
    logged = _assay("tracking", "log", str(run_dir), cwd=work)
    assert logged.returncode == 0, logged.stderr
    embedded_id = logged.stdout.split("MLflow run ")[1].split()[0]
    port = free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(
        [*ASSAY, "tracking", "serve", "--port", str(port), "--backend-store", str(work)],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, proc)
        yield url, work, embedded_id
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: serve stops its server and exits
        proc.wait(timeout=60)
    printed = proc.stdout.read() if proc.stdout else ""
    assert f"MLflow UI: {url}" in printed, printed


def _wait_for(url: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else "serve exited"
        try:
            if httpx.get(url + "/health", timeout=2).text == "OK":
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail("assay tracking serve did not become healthy in 180 s")


def _api(url: str, endpoint: str, **params: str) -> dict:
    response = httpx.get(f"{url}/api/2.0/mlflow/{endpoint}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _search(url: str, experiment_id: str, assay_run: str) -> list[dict]:
    body = {"experiment_ids": [experiment_id], "filter": f"tags.`assay.run_id` = '{assay_run}'"}
    response = httpx.post(f"{url}/api/2.0/mlflow/runs/search", json=body, timeout=30)
    response.raise_for_status()
    return list(response.json().get("runs", []))


def test_assay_run_track_then_serve_shows_the_run(served: tuple[str, Path, str]) -> None:
    url, work, _ = served
    real = sorted(p for p in (work / "runs").iterdir() if p.name != "20261123-100000-aaaaaa")
    if not real:
        data_dir_or_skip()  # fails in CI, skips elsewhere
        pytest.fail("the tracked run was not made")
    summary = json.loads((real[0] / "summary.json").read_text())
    exp = _api(url, "experiments/get-by-name", experiment_name="ARC-Easy-SmolLM2")["experiment"]
    (run,) = _search(url, exp["experiment_id"], real[0].name)
    assert run["info"]["run_name"] == "smollm2-135m-instruct-q4"
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["arc_easy/acc"] == pytest.approx(summary["results"][0]["metrics"]["acc"]["value"])
    assert metrics["arc_easy/acc_n"] == 2 and "stats/requests_total" in metrics
    (dataset,) = run["inputs"]["dataset_inputs"]
    assert dataset["dataset"]["digest"] == summary["results"][0]["dataset_sha256"][:32]
    files = [
        f["path"] for f in _api(url, "artifacts/list", run_id=run["info"]["run_id"], path="samples")["files"]
    ]
    assert files == ["samples/smollm2-135m_arc_easy.jsonl"]


def test_run_logged_embedded_is_served(served: tuple[str, Path, str]) -> None:
    url, _, run_id = served
    exp = _api(url, "experiments/get-by-name", experiment_name="ARC-Easy-SmolLM2")["experiment"]
    run = _api(url, "runs/get", run_id=run_id)["run"]
    assert run["info"]["experiment_id"] == exp["experiment_id"]
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["arc_easy/acc"] == pytest.approx(0.5)
    files = [f["path"] for f in _api(url, "artifacts/list", run_id=run_id, path="samples")["files"]]
    assert files == ["samples/smollm2-135m_arc_easy.jsonl"]
    body = httpx.get(f"{url}/get-artifact", params={"run_uuid": run_id, "path": files[0]}, timeout=30)
    assert len(body.text.splitlines()) == 12


def test_log_over_http_uploads_artifacts_through_the_server(
    served: tuple[str, Path, str], tmp_path: Path
) -> None:
    url, store, _ = served
    run_dir = write_run(tmp_path / "runs", run_id="20261123-110000-bbbbbb", n=8, accuracy=0.75)
    # the client works in another folder: the artifacts must reach the server's store, not this folder
    done = _assay(
        "tracking", "log", str(run_dir), "--tracking-uri", url, "--experiment", "Http-Check", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    run_id = done.stdout.split("MLflow run ")[1].split()[0]
    run = _api(url, "runs/get", run_id=run_id)["run"]
    assert run["info"]["artifact_uri"].startswith("mlflow-artifacts:")
    assert {m["key"]: m["value"] for m in run["data"]["metrics"]}["arc_easy/acc"] == pytest.approx(0.75)
    summary = httpx.get(
        f"{url}/get-artifact", params={"run_uuid": run_id, "path": "summary.json"}, timeout=30
    )
    assert json.loads(summary.text)["run_id"] == "20261123-110000-bbbbbb"
    assert list(store.joinpath("mlartifacts").rglob("smollm2-135m_arc_easy.jsonl"))
    assert not (tmp_path / "mlartifacts").exists() and not (tmp_path / "mlflow.db").exists()


def test_unreachable_server_is_one_line_error(tmp_path: Path) -> None:
    run_dir = write_run(tmp_path / "runs")
    port = free_port()
    done = _assay("tracking", "log", str(run_dir), "--tracking-uri", f"http://127.0.0.1:{port}", cwd=tmp_path)
    assert done.returncode == 2
    assert "no MLflow server answers" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.skipif(
    not shutil.which("chromium"), reason="no chromium on this machine (apt-get install chromium)"
)
def test_mlflow_ui_shows_the_run_in_headless_chromium(served: tuple[str, Path, str], tmp_path: Path) -> None:
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="needs playwright (pip install playwright)"
    )
    url, work, run_id = served
    exp_id = _api(url, "runs/get", run_id=run_id)["run"]["info"]["experiment_id"]
    real = sorted(p.name for p in (work / "runs").iterdir() if p.name != "20261123-100000-aaaaaa")
    if real:  # show the run `assay run --track` made
        run_id = _search(url, exp_id, real[0])[0]["info"]["run_id"]
    shot = Path(os.environ.get("ASSAY_SCREENSHOT", tmp_path / "mlflow-ui.png"))
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
                  "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/#/experiments/{exp_id}/runs/{run_id}", timeout=60_000)
            page.get_by_text("smollm2-135m-instruct-q4").first.wait_for(timeout=60_000)
            page.get_by_text("arc_easy/acc").first.wait_for(timeout=60_000)
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    assert shot.read_bytes()[:4] == b"\x89PNG"


def test_registry_workflow_against_the_server(served: tuple[str, Path, str], tmp_path: Path) -> None:
    from assay.config import ModelSpec
    from assay.tracking import model_registry as registry
    from tests.tracking.test_registry import make_checkpoint

    url, _, _ = served
    ckpt = make_checkpoint(tmp_path / "ckpt")
    run_dir = write_run(tmp_path / "runs", run_id="20261123-120000-cccccc", n=10, accuracy=0.8)
    v1 = registry.register_model(
        "ServedFollower", str(ckpt), run=run_dir, tracking_uri=url, reference_only=True
    )
    registry.promote("ServedFollower", v1.version, "champion", tracking_uri=url)
    # read back through the REST API, not through the client that wrote it
    mv = _api(url, "registered-models/alias", name="ServedFollower", alias="champion")["model_version"]
    tags = {t["key"]: t["value"] for t in mv["tags"]}
    assert tags["bench.arc_easy/acc"] == "0.8" and tags["assay.run_id"] == run_dir.name
    assert mv["source"] == f"runs:/{mv['run_id']}/model_card/ServedFollower"
    spec = registry.resolve_registry_uri(
        ModelSpec(model="models:/ServedFollower@champion", args={"tracking_uri": url})
    )
    assert spec.model == "hf" and spec.args == {"pretrained": str(ckpt)}
    assert ("ServedFollower", 1, {"champion": "1"}) in registry.list_models(url)


def test_track_says_where_it_logged_and_keeps_mlflow_log_lines_off(
    served: tuple[str, Path, str], tmp_path: Path, data_dir: Path, capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from assay.cli.main import main

    url, _, _ = served
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ASSAY_DEBUG", raising=False)
    run = ["run", "--model", "fake", "--tasks", "arc_easy", "--limit", "3", "--data-dir", str(data_dir),
           "--no-leaderboard", "--quiet", "--track", "--tracking-uri"]  # fmt: skip
    main([*run, url])  # in this process: a second interpreter would cost seconds of imports
    [line] = capfd.readouterr().err.splitlines()  # the one line, and nothing of MLflow's own
    assert line.startswith(f"logged to MLflow at {url}: experiment 'ARC-Easy-fake', run "), line
    mlflow_id = line.split(", run ")[1].split()[0]
    logged = _api(url, "runs/get", run_id=mlflow_id)["run"]
    [folder] = (tmp_path / "runs").iterdir()
    assert {t["key"]: t["value"] for t in logged["data"]["tags"]}["assay.run_id"] == folder.name
    # a new embedded store is created and migrated: MLflow's and alembic's INFO lines ("Creating initial MLflow
    # database tables...") stay off (--debug shows them: a process of its own, as by hand)
    main([*run, "fresh.db"])
    err = capfd.readouterr().err
    assert err.startswith("logged to MLflow at sqlite:///") and len(err.splitlines()) == 1, err
