"""A model loaded from the hub records the commit its files came from (ModelInfo.version in summary.json).

The hub is not reachable here, so the test lays SmolLM2's converted files out as the hub's own cache does
(`models--Org--Name/refs/main` naming `snapshots/<commit>/`) and loads the hub id offline: transformers and
huggingface_hub take the same path as after a real download. A plain local folder records no commit.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from assay.models.hf import hub_commit
from tests.conftest import assay_cmd

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


def _hub_cache(root: Path, files: Path) -> Path:
    """A hub cache holding `files` as REPO_ID at COMMIT, with `main` pointing at it."""
    repo = root / ("models--" + REPO_ID.replace("/", "--"))
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT)
    for file in files.iterdir():
        if not file.name.startswith("."):
            (snapshot / file.name).symlink_to(file)
    return snapshot


def test_commit_of_local_folders(tmp_path: Path) -> None:
    plain = tmp_path / "ckpt"
    plain.mkdir()
    (plain / "config.json").write_text("{}")
    snapshot = _hub_cache(tmp_path / "hub", plain)
    assert hub_commit(str(plain)) is None
    assert hub_commit(str(snapshot)) == COMMIT  # a snapshot folder given as a path still names its commit


@pytest.mark.integration
def test_run_records_the_resolved_hub_commit(tmp_path: Path, data_dir: Path) -> None:
    from assay.models.aliases import hf_folder

    _hub_cache(tmp_path / "hub", hf_folder("smollm2-135m"))
    args = f"pretrained={REPO_ID},dtype=float32,revision=main"
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        assay_cmd("run", "--model", "hf", "--model-args", args, "--tasks", "arc_easy", "--limit", "2",
                  "--data-dir", str(data_dir), "--output", str(tmp_path / "runs"), "--no-leaderboard", "-q"),
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (summary,) = (tmp_path / "runs").glob("*/summary.json")
    (model,) = json.loads(summary.read_text())["models"]
    assert model["version"] == COMMIT  # a branch name is recorded as the commit it resolved to
    assert model["fingerprint"].startswith("hub:")
