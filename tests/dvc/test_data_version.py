"""The DVC version of --data-dir that runs record (TaskResult.dataset_dvc), read from a real `dvc add`."""

from __future__ import annotations

from pathlib import Path

import yaml

from assay.dvc.data import data_version
from assay.records import RunRecord
from tests.dvc.conftest import sh
from tests.tracking.runfolders import write_run


def test_data_version_of_a_dvc_added_folder(repo: Path, tmp_path: Path) -> None:
    (repo / "data" / "org" / "set").mkdir(parents=True)
    (repo / "data" / "org" / "set" / "test.jsonl").write_text('{"q": 1}\n')
    (repo / "plain").mkdir()
    assert data_version(repo / "data") == ""  # not tracked yet
    sh("dvc", "add", "-q", "data", cwd=repo)
    md5 = yaml.safe_load((repo / "data.dvc").read_text())["outs"][0]["md5"]
    assert data_version(repo / "data") == f"data.dvc md5:{md5}"
    assert data_version(repo / "data" / "org") == f"data.dvc md5:{md5}"  # a folder inside the tracked one
    assert data_version(repo / "plain") == "" and data_version(tmp_path) == ""
    (repo / "data" / "org" / "set" / "test.jsonl").write_text('{"q": 2}\n')
    sh("dvc", "add", "-q", "data", cwd=repo)
    assert data_version(repo / "data") not in ("", f"data.dvc md5:{md5}")  # a new data version, a new value


def test_run_records_keep_the_field(tmp_path: Path) -> None:
    import json

    run = write_run(tmp_path / "runs")
    data = json.loads((run / "summary.json").read_text())
    data["results"][0]["dataset_dvc"] = "data.dvc md5:0123.dir"
    record = RunRecord.from_json(data)
    assert record.results[0].dataset_dvc == "data.dvc md5:0123.dir"
    assert record.to_json()["results"][0]["dataset_dvc"] == "data.dvc md5:0123.dir"
