"""`assay dvc init|diff|leaderboard` without evaluating a model: the files written, what real DVC reads from
them, refusals, fingerprint refresh, and the paired diff and leaderboard over run folders made by the tests."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import yaml

from assay.dvc.collect import parse_pairs, write_leaderboard
from assay.dvc.diff import diff_folders, rows
from tests.conftest import assay_cmd
from tests.dvc.conftest import sh
from tests.tracking.runfolders import write_run
from tests.tracking.test_registry import make_checkpoint

HAND_WRITTEN = "stages:\n  train:\n    cmd: python train.py\n"


def _init(*extra: str, cwd: Path, check: bool = True):  # type: ignore[no-untyped-def]
    args = ["dvc", "init", "--models", "tiny=ckpt", "--tasks", "arc_easy,piqa", "--limit", "5", *extra]
    return sh(*assay_cmd(*args), cwd=cwd, check=check)


def _setup(repo: Path) -> None:
    make_checkpoint(repo / "ckpt")
    (repo / "data").mkdir()


def test_init_writes_a_pipeline_dvc_reads(repo: Path) -> None:
    _setup(repo)
    done = _init(cwd=repo)
    assert "4 run stages" not in done.stdout and "2 run stages + leaderboard" in done.stdout
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["tasks"] == {"arc_easy": {"limit": 5, "num_fewshot": 0}, "piqa": {"limit": 5, "num_fewshot": 0}}
    tiny = params["models"]["tiny"]
    assert tiny["model"] == "hf" and tiny["args"] == "pretrained=ckpt,dtype=float32"
    assert tiny["fingerprint"].startswith("files-sha256-v2:")
    listed = sh("dvc", "stage", "list", cwd=repo).stdout
    assert [line.split()[0] for line in listed.splitlines()] == ["eval@tiny-arc_easy", "eval@tiny-piqa", "leaderboard"]
    stage = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]["eval"]["do"]
    assert '--run-dir "runs/${key}" --no-leaderboard' in stage["cmd"][0]
    assert '--model-args "name=${item.model},${item.args}"' in stage["cmd"][0]  # metrics keys: <key>/<task>/...
    assert stage["params"] == ["seed", "batch_size", "tasks.${item.task}", "models.${item.model}"]
    assert stage["deps"] == ["data"] and stage["outs"] == ["runs/${key}"]
    _init(cwd=repo)  # its own files are written again without --force


def test_hand_written_dvc_yaml_is_refused_unless_forced(repo: Path) -> None:
    _setup(repo)
    (repo / "dvc.yaml").write_text(HAND_WRITTEN)
    done = _init(cwd=repo, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "error: dvc.yaml exists and was not written by `assay dvc init`"
    assert len(done.stderr.splitlines()) == 2 and "--force" in done.stderr  # error + hint, no traceback
    assert (repo / "dvc.yaml").read_text() == HAND_WRITTEN and not (repo / "params.yaml").exists()
    assert not list(repo.glob(".*assay-tmp"))
    _init("--force", cwd=repo)
    assert (repo / "dvc.yaml").read_text().startswith("# written by `assay dvc init`")


def test_bad_inputs_write_nothing(repo: Path, tmp_path: Path) -> None:
    _setup(repo)
    typo = sh(*assay_cmd("dvc", "init", "--models", "tiny=ckpt", "--tasks", "arc_eazy"), cwd=repo, check=False)
    assert typo.returncode == 2 and "arc_easy" in typo.stderr
    missing = sh(*assay_cmd("dvc", "init", "--models", "nope", "--tasks", "arc_easy"), cwd=repo, check=False)
    assert missing.returncode == 2 and "nope" in missing.stderr
    assert not (repo / "dvc.yaml").exists() and not (repo / "params.yaml").exists()
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = sh(*assay_cmd("dvc", "init", "--models", "smollm2-135m", "--tasks", "arc_easy"), cwd=plain, check=False)
    assert outside.returncode == 2 and "not a DVC repository" in outside.stderr


def test_refresh_updates_a_changed_models_fingerprint(repo: Path) -> None:
    _setup(repo)
    _init(cwd=repo)
    before = yaml.safe_load((repo / "params.yaml").read_text())
    same = sh(*assay_cmd("dvc", "init", "--refresh"), cwd=repo)
    assert "unchanged" in same.stdout
    (repo / "ckpt" / "model.safetensors").write_bytes(b"\1" * 4096)
    changed = sh(*assay_cmd("dvc", "init", "--refresh"), cwd=repo)
    after = yaml.safe_load((repo / "params.yaml").read_text())
    assert "tiny: fingerprint" in changed.stdout
    assert after["models"]["tiny"]["fingerprint"] != before["models"]["tiny"]["fingerprint"]
    assert after["tasks"] == before["tasks"]  # nothing else moves
    assert (repo / "params.yaml").read_text().startswith("# written by `assay dvc init`")


def test_diff_pairs_run_folders_by_name_and_samples_by_id(tmp_path: Path) -> None:
    for root, acc in (("a", 0.3), ("b", 0.9)):
        for name in ("m-arc_easy", "m-piqa"):
            write_run(tmp_path / root, run_id=name, n=40, accuracy=acc)
    write_run(tmp_path / "a", run_id="old-only", n=5)
    result = diff_folders(tmp_path / "a", tmp_path / "b", "HEAD", "workspace")
    assert [s.stage for s in result.stages] == ["m-arc_easy", "m-piqa"] and result.only_a == ("old-only",)
    (first,) = result.stages[0].comparisons
    assert abs(first.difference - 0.6) < 1e-9  # B - A
    assert first.verdict == "A better" and first.ci_low > 0  # compare_runs ran (B, A)
    header, cells = rows(result)
    assert header[4:7] == ["HEAD", "workspace", "delta"]
    assert cells[0][:7] == ["m-arc_easy", "arc_easy", "acc", "40", "0.3", "0.9", "0.6"]
    assert cells[0][-1] == "workspace better"


def test_leaderboard_names_rows_by_pipeline_key(tmp_path: Path) -> None:
    a = write_run(tmp_path / "runs", run_id="a-arc_easy", accuracy=0.4)
    b = write_run(tmp_path / "runs", run_id="b-arc_easy", accuracy=0.8)  # same display name as a
    out = tmp_path / "results" / "leaderboard.csv"
    out.parent.mkdir()
    out.write_text("stale\n")
    assert write_leaderboard(parse_pairs([f"a={a}", f"b={b}"]), out) == 2
    with out.open() as fh:
        got = {(r["model"], r["score"]) for r in csv.DictReader(fh)}
    assert got == {("a", "0.4"), ("b", "0.8")}
    assert sorted(p.name for p in out.parent.iterdir()) == ["leaderboard.csv"]  # no tmp or lock file left
    assert json.loads((a / "metrics.json").read_text())  # the run folders are only read


def test_diff_of_an_unknown_revision_is_one_line(repo: Path) -> None:
    done = sh(*assay_cmd("dvc", "diff", "nosuchrev"), cwd=repo, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines()[0] == "error: 'nosuchrev' is not a git revision of the repository here"


def test_name_in_model_args_is_the_display_name() -> None:
    from assay.cli.run import models_from_cli
    from assay.config import ModelSpec

    (spec,) = models_from_cli(["smollm2-135m"], ["name=variant,dtype=float32,"], None)
    assert spec == ModelSpec(name="variant", model="smollm2-135m", args={"dtype": "float32"})


def test_a_broken_params_yaml_is_one_line(repo: Path) -> None:
    """A hand-edited params.yaml (still marked as assay's) that is too deep or holds a huge number: exit 2, one
    error line, nothing rewritten."""
    marker = "# written by `assay dvc init`\n"
    for body in ("models: " + "[" * 3000 + "]" * 3000 + "\n", "models:\n  tiny:\n    limit: " + "9" * 5000 + "\n"):
        (repo / "params.yaml").write_text(marker + body)
        done = sh(*assay_cmd("dvc", "init", "--refresh"), cwd=repo, check=False)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, done.stderr[-500:]
        assert lines[0].startswith("error: params.yaml: not readable as YAML")
        assert all(line.startswith(("error:", "hint:")) for line in lines)
        assert (repo / "params.yaml").read_text() == marker + body
