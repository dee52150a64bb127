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


def test_audit_names_the_dvc_versions_of_changed_data(tmp_path: Path) -> None:
    import json

    from assay.audit.compare import compare_runs

    folders = []
    for run_id, rows, dvc in (("20261201-100000-aaaaaa", 10, "data.dvc md5:aaa.dir"),
                              ("20261201-110000-bbbbbb", 11, "data.dvc md5:bbb.dir")):  # fmt: skip
        run = write_run(tmp_path / "runs", run_id=run_id, n=rows)
        summary = json.loads((run / "summary.json").read_text())
        summary["results"][0]["dataset_dvc"] = dvc
        (run / "summary.json").write_text(json.dumps(summary))
        folders.append(run)
    report = compare_runs(folders[0], folders[1])
    (data,) = [d for d in report.differences if d.kind == "dataset"]
    assert data.detail.endswith("(DVC data.dvc md5:aaa.dir -> data.dvc md5:bbb.dir)")
