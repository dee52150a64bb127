"""`assay dvc init` pins each model's fingerprint as a run of it records it (assay.models.identity), for a hub
id and for a GGUF path as for a folder: the real SmolLM2 files, no model loaded.

The hub is not reachable here: the hub id is served from SmolLM2's files laid out as the hub's own cache lays
them out (`models--Org--Name/refs/main` naming `snapshots/<commit>/`), offline, as in
tests/models/test_hf_hub_revision.py.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import yaml

from assay.models.identity import files_digest, identify
from tests.conftest import assay_cmd
from tests.dvc.conftest import sh
from tests.models.test_hf_hub_revision import COMMIT, REPO_ID, _hub_cache


def _params(repo: Path) -> dict[str, dict[str, str]]:
    models: dict[str, dict[str, str]] = yaml.safe_load((repo / "params.yaml").read_text())["models"]
    return models


@pytest.mark.integration
def test_init_with_a_hub_id(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.models.aliases import hf_folder

    _hub_cache(tmp_path / "hub", hf_folder("smollm2-135m"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    (repo / "data").mkdir()
    sh(*assay_cmd("dvc", "init", "--models", REPO_ID, "--tasks", "arc_easy", "--limit", "2"), cwd=repo)
    (key,) = _params(repo)
    entry = _params(repo)[key]
    assert key == "SmolLM2-135M-Instruct"
    assert (entry["model"], entry["args"]) == ("hf", f"pretrained={REPO_ID},dtype=float32")
    # what the hf backend records for this hub id: the id at the commit `main` resolved to
    assert entry["fingerprint"] == "hub:" + hashlib.sha256(f"{REPO_ID}@{COMMIT}".encode()).hexdigest()
    assert "unchanged" in sh(*assay_cmd("dvc", "init", "--refresh"), cwd=repo).stdout

    typo = sh(*assay_cmd("dvc", "init", "--models", "HuggingFaceTB/SmolLM2-135M-Instrukt", "--tasks", "arc_easy",
                         "--force"), cwd=repo, check=False)  # fmt: skip
    assert typo.returncode == 2 and len(typo.stderr.splitlines()) == 2, typo.stderr
    assert typo.stderr.startswith("error: 'HuggingFaceTB/SmolLM2-135M-Instrukt' is neither a model alias")
    assert _params(repo) == {key: entry}  # nothing rewritten


@pytest.mark.integration
def test_init_with_a_gguf_path(repo: Path) -> None:
    from assay.testing.llamaserver import smollm2_gguf

    shipped = smollm2_gguf()
    (repo / "models").mkdir()
    gguf = repo / "models" / shipped.name
    if shipped.stat().st_dev == repo.stat().st_dev:
        os.link(shipped, gguf)  # 98 MB: no copy where a hard link will do
    else:
        shutil.copy(shipped, gguf)
    (repo / "models" / "notes.txt").write_text("not part of the model")  # a sibling file, as in a package
    (repo / "data").mkdir()
    sh(*assay_cmd("dvc", "init", "--models", f"smol=models/{gguf.name}", "--tasks", "arc_easy"), cwd=repo)
    entry = _params(repo)["smol"]
    assert (entry["model"], entry["args"]) == ("hf", f"pretrained=models,gguf_file={gguf.name},dtype=float32")
    digest = files_digest(gguf)
    loaded_by_hf = identify("hf", {"pretrained": str(repo / "models"), "gguf_file": gguf.name})
    # one digest for the GGUF, whichever way it is given; before, hf hashed the folder (notes.txt included)
    assert entry["fingerprint"] == loaded_by_hf.fingerprint == digest == files_digest(shipped)
    assert identify("llamacpp", {"path": str(gguf)}).files_digest == digest
    (repo / "models" / "notes.txt").write_text("changed notes")
    assert "unchanged" in sh(*assay_cmd("dvc", "init", "--refresh"), cwd=repo).stdout
