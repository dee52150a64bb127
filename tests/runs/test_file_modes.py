"""Every file of a run folder gets one mode, readable by the group and others as the umask allows (a team
shares a runs folder): JSON, JSONL and the sqlite journal alike."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from assay.config import ModelSpec, RunConfig
from assay.runner import run_evaluation


@pytest.mark.parametrize(("umask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_every_run_file_has_the_umask_mode(tmp_path: Path, data_dir: Path, umask: int, expected: int) -> None:
    config = RunConfig(models=(ModelSpec(model="fake"),), tasks=("arc_easy", "piqa"), limit=5,
                       data_dir=str(data_dir), output=str(tmp_path / "runs"), leaderboard=None)  # fmt: skip
    previous = os.umask(umask)
    try:
        _, folder = run_evaluation(config, show_progress=False)
    finally:
        os.umask(previous)
    modes = {p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in folder.rglob("*")
             if p.is_file()}  # fmt: skip
    assert {"config.json", "summary.json", "metrics.json", "responses.sqlite", "samples/fake_arc_easy.jsonl",
            "samples/fake_piqa.jsonl"} <= set(modes)  # fmt: skip
    assert modes == dict.fromkeys(modes, expected), {k: oct(v) for k, v in modes.items()}
