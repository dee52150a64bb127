"""What `assay audit` re-runs: the recorded config of an `assay run` folder, redirected; other folders are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.audit.rerun import audit_config
from assay.errors import UsageError
from tests.tracking.runfolders import read_json, write_run


def test_audit_config_redirects_output_and_turns_the_cache_off(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", n=4)
    (run / "config.json").write_text(json.dumps({"models": [{"model": "fake"}], "tasks": ["arc_easy"]}))
    config = audit_config(run, tmp_path / "audit")
    assert (config.use_cache, config.track, config.output) == (False, False, str(tmp_path / "audit"))
    assert config.tasks == ("arc_easy",) and config.models[0].model == "fake"


def test_a_folder_written_by_another_command_is_refused_by_name(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs", n=4)
    summary = read_json(run / "summary.json")
    (run / "summary.json").write_text(json.dumps({**summary, "command": "judge-mtbench"}))
    with pytest.raises(UsageError) as err:
        audit_config(run, tmp_path / "audit")
    assert "`assay judge mtbench`" in err.value.message and str(run) in err.value.message
