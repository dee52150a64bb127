"""The DVC pipeline with real components: real `dvc` (repro, metrics diff, exp run/show, push/pull to a local
remote) over real `assay run` stages of two small SmolLM2 variants x two tasks on a DVC-tracked subset of
../shared/data.

The variants: the smollm2-135m alias, and a copy of its files (hard links) whose generation_config.json differs,
so it has its own fingerprint and stages (Gemma is avoided: its first tokenizer build takes minutes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from assay.dvc.data import data_version
from tests.conftest import assay_cmd
from tests.dvc.conftest import sh

pytestmark = pytest.mark.integration
LIMIT = 8
DATA = {"arc_easy": "allenai/ai2_arc/ARC-Easy/test.jsonl", "piqa": "ybisk/piqa/plain_text/validation.jsonl"}


def _variant(dest: Path) -> Path:
    from assay.models.aliases import hf_folder

    dest.mkdir()
    for file in hf_folder("smollm2-135m").iterdir():
        if file.name.startswith(".") or file.name == "generation_config.json":
            continue
        try:
            os.link(file, dest / file.name)
        except OSError:
            shutil.copy(file, dest / file.name)
    config = json.loads((hf_folder("smollm2-135m") / "generation_config.json").read_text())
    (dest / "generation_config.json").write_text(json.dumps({**config, "temperature": 0.5}, indent=2))
    return dest


def _ran(output: str) -> list[str]:
    return sorted(re.findall(r"Running stage '([^']+)'", output))


def _commit(repo: Path, message: str) -> None:
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-q", "-m", message, cwd=repo)


def _set_limit(repo: Path, task: str, limit: int) -> None:
    params = repo / "params.yaml"
    header, _, body = params.read_text().partition("\n")
    data = yaml.safe_load(body)
    data["tasks"][task]["limit"] = limit
    params.write_text(header + "\n" + yaml.safe_dump(data, sort_keys=False))


def test_pipeline_repro_params_metrics_and_remote(
    repo: Path, tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # assay dvc diff's table unwrapped
    for rel in DATA.values():
        (repo / "data" / rel).parent.mkdir(parents=True)
        lines = (data_dir / rel).read_text().splitlines(keepends=True)[:30]
        (repo / "data" / rel).write_text("".join(lines))
    sh("dvc", "add", "-q", "data", cwd=repo)
    variant = _variant(tmp_path / "smol-variant")
    sh(*assay_cmd("dvc", "init", "--models", f"smollm2-135m,variant={variant}", "--tasks", "arc_easy,piqa",
                  "--limit", str(LIMIT)), cwd=repo)  # fmt: skip
    first = sh("dvc", "repro", cwd=repo).stdout
    stages = {f"{m}-{t}": (m, t) for m in ("smollm2-135m", "variant") for t in DATA}
    pairs = list(stages)
    assert _ran(first) == sorted([f"eval@{p}" for p in pairs] + ["leaderboard"])
    for pair in pairs:
        summary = json.loads((repo / "runs" / pair / "summary.json").read_text())
        assert summary["results"][0]["n_samples"] == LIMIT
        assert summary["results"][0]["dataset_dvc"] == data_version(repo / "data") != ""
        metrics = json.loads((repo / "metrics" / f"{pair}.json").read_text())
        assert metrics == json.loads((repo / "runs" / pair / "metrics.json").read_text())
        model, task = stages[pair]  # the run names its model by the pipeline's key
        assert sorted(metrics) == [f"{model}/{task}/acc", f"{model}/{task}/acc_norm"]
    board = (repo / "results" / "leaderboard.csv").read_text()
    assert board.count("\nvariant,") == 4 and board.count("\nsmollm2-135m,") == 4  # 2 tasks x acc, acc_norm
    assert (repo / "results" / "report" / "index.html").exists()
    _commit(repo, "pipeline")

    assert "Data and pipelines are up to date" in sh("dvc", "repro", cwd=repo).stdout
    _set_limit(repo, "piqa", LIMIT - 3)
    second = sh("dvc", "repro", cwd=repo).stdout
    assert _ran(second) == ["eval@smollm2-135m-piqa", "eval@variant-piqa", "leaderboard"]
    changed = json.loads(sh("dvc", "metrics", "diff", "--json", cwd=repo).stdout)
    assert sorted(changed) == ["metrics/smollm2-135m-piqa.json", "metrics/variant-piqa.json"]
    diff = sh(*assay_cmd("dvc", "diff"), cwd=repo).stdout
    assert "variant-piqa" in diff and "mcnemar_exact" in diff
    _commit(repo, "piqa limit")

    remote = tmp_path / "remote"
    sh("dvc", "remote", "add", "-d", "local", str(remote), cwd=repo)
    sh("dvc", "push", cwd=repo)
    _commit(repo, "remote")
    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(repo), str(clone), cwd=tmp_path)
    sh("dvc", "pull", cwd=clone)
    for pair in pairs:
        for name in ("summary.json", "metrics.json"):
            assert (clone / "runs" / pair / name).read_bytes() == (repo / "runs" / pair / name).read_bytes()
    assert (clone / "data" / DATA["piqa"]).read_bytes() == (repo / "data" / DATA["piqa"]).read_bytes()
    assert "up to date" in sh("dvc", "status", cwd=clone).stdout

    sh("dvc", "exp", "run", "-S", f"tasks.arc_easy.limit={LIMIT // 2}", cwd=repo)
    shown = json.loads(sh("dvc", "exp", "show", "--json", cwd=repo).stdout)
    assert sorted(_arc_limits(shown)) == [LIMIT // 2, LIMIT]  # the experiment beside the committed pipeline


def _arc_limits(shown: list[dict]) -> list[int]:
    """tasks.arc_easy.limit of each commit and experiment in `dvc exp show --json` (the workspace left out)."""
    revs = [c for c in shown if c.get("rev") != "workspace"]
    revs += [r for c in shown for exp in c.get("experiments") or [] for r in exp.get("revs", [])]
    params = [r["data"]["params"]["params.yaml"]["data"] for r in revs if r.get("data")]
    return [p["tasks"]["arc_easy"]["limit"] for p in params]
