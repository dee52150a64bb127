"""`assay view` on bad input: one line, exit 2, nothing written; an unfinished run is shown, marked unfinished."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import httpx

from tests.cli.conftest import Cli, assert_refused, cli  # noqa: F401 - the fixture

from .conftest import ViewRuns, ViewServer


def test_a_folder_that_is_not_a_run_is_refused(cli: Cli) -> None:  # noqa: F811
    (cli.work / "notes").mkdir()
    (cli.work / "notes" / "todo.txt").write_text("read the samples")
    cli.freeze()
    assert_refused(cli("view", "notes"), cli, "notes is not a run folder")
    assert_refused(cli("view", "20261206-000000-abcdef"), cli, "is not a run folder")


def test_a_torn_samples_file_is_refused_naming_file_and_line(cli: Cli, view_runs: ViewRuns) -> None:  # noqa: F811
    run = shutil.copytree(view_runs.a, cli.work / "torn")
    samples = run / "samples" / "fake_hellaswag.jsonl"
    data = samples.read_bytes()
    samples.write_bytes(data[: len(data) - 40])  # the last line cut in the middle
    lines = data.count(b"\n")
    cli.freeze()
    assert_refused(cli("view", "torn"), cli, f"fake_hellaswag.jsonl:{lines}: torn samples file")


def test_a_port_in_use_is_refused(cli: Cli, view_runs: ViewRuns) -> None:  # noqa: F811
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cli.freeze()
        assert_refused(cli("view", str(view_runs.a), "--port", str(port)), cli, f"port {port}", "already in use")


def test_an_unfinished_run_is_shown_as_unfinished(
    tmp_path: Path, view_runs: ViewRuns, view_server: type[ViewServer]
) -> None:
    partial = tmp_path / "runs" / f"{view_runs.a.name}.partial"
    shutil.copytree(view_runs.a, partial)
    for name in ("summary.json", "metrics.json", "samples/fake_gsm8k.jsonl"):  # gsm8k was not finished
        (partial / name).unlink()
    server = view_server([partial])
    printed = server.log.read_text()
    assert f"run {view_runs.a.name} is unfinished: showing the 2 task(s) it finished" in printed
    manifest = httpx.get(server.url + "api/manifest").json()
    assert manifest["runs"] == [{"id": view_runs.a.name, "path": str(partial), "unfinished": True, "created": ""}]
    assert sorted(u["task"] for u in manifest["units"]) == ["arc_easy", "hellaswag"]
    key = next(u["key"] for u in manifest["units"] if u["task"] == "arc_easy")
    index = httpx.get(server.url + "api/index", params={"unit": key}).json()
    first = json.loads((partial / "samples" / "fake_arc_easy.jsonl").read_text().splitlines()[0])
    assert index["n"] == 20 and index["ids"][0] == first["sample_id"]
    assert index["metrics"]["acc"][0] == first["scores"]["acc"]
