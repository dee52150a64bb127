"""Import of lm-evaluation-harness results JSON.

The fixtures are files lm-eval 0.4.13 wrote itself (a tiny local task on SmolLM2-135M), with local paths
replaced by relative ones; the integration test regenerates such a file live and imports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.errors import DataError
from assay.leaderboard.lmeval_import import read_lmeval_file, rows_from_lmeval
from assay.leaderboard.store import append_rows, read_rows
from tests.leaderboard.conftest import CliResult

FIXTURES = Path(__file__).parent / "fixtures"


def test_single_task_file() -> None:
    rows = read_lmeval_file(FIXTURES / "lm_eval_results_tiny_mc.json")
    got = {(r.benchmark, r.metric): (round(r.score, 4), round(r.stderr or 0, 4), r.n) for r in rows}
    assert got == {("tiny_mc", "acc"): (0.8333, 0.1667, 6), ("tiny_mc", "acc_norm"): (0.8333, 0.1667, 6)}
    r = rows[0]
    assert r.model == "models/smollm2-135m"  # from config.model_args.pretrained
    assert r.dataset == "tasks/tiny.jsonl"
    assert r.eval_date.startswith("2026-11-23T")  # unix `date` turned into ISO UTC
    assert r.run_id.startswith("lm-eval-")


def test_group_file_has_group_and_subtasks() -> None:
    rows = read_lmeval_file(FIXTURES / "lm_eval_results_tiny_group.json", model="smol")
    got = {(r.benchmark, r.metric): (r.score, r.n) for r in rows}
    assert got[("tiny_group", "acc")] == (0.75, 8)
    assert got[("tiny_mc", "acc")] == (0.75, 4) and got[("tiny_mc2", "acc_norm")] == (0.75, 4)
    assert {r.model for r in rows} == {"smol"}


def test_filters_and_na_stderr() -> None:
    data = {
        "results": {
            "gsm8k": {
                "alias": "gsm8k",
                "exact_match,strict-match": 0.25,
                "exact_match_stderr,strict-match": "N/A",
                "exact_match,flexible-extract": 0.5,
                "exact_match_stderr,flexible-extract": 0.1,
            }
        },
        "n-samples": {"gsm8k": {"original": 1319, "effective": 8}},
        "config": {"model_args": "pretrained=some/model,dtype=float32"},
        "date": 1700000000.0,
    }
    rows = rows_from_lmeval(data)
    got = {r.metric: (r.score, r.stderr, r.n) for r in rows}
    assert got == {"exact_match_strict-match": (0.25, None, 8), "exact_match_flexible-extract": (0.5, 0.1, 8)}
    assert rows[0].model == "some/model"


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match="x.json"):
        read_lmeval_file(bad)
    bad.write_text(json.dumps({"foo": 1}))
    with pytest.raises(DataError, match="results"):
        read_lmeval_file(bad)


def test_cli_import_appends_and_bad_file_appends_nothing(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    lb = str(tmp_path / "lb.csv")
    ok = cli(
        "leaderboard",
        "import",
        str(FIXTURES / "lm_eval_results_tiny_group.json"),
        "--leaderboard",
        lb,
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    rows, problems = read_rows(Path(lb))
    assert len(rows) == 5 and problems == []  # group acc + 2 subtasks x (acc, acc_norm)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    good = str(FIXTURES / "lm_eval_results_tiny_mc.json")
    res = cli("leaderboard", "import", good, str(bad), "--leaderboard", lb, cwd=tmp_path)
    assert res.returncode == 2 and "bad.json" in res.stderr and "Traceback" not in res.stderr
    assert len(read_rows(Path(lb))[0]) == 5  # the good file before the bad one was not appended either


def _model_dir() -> Path | None:
    from assay.models.aliases import models_root

    folder = models_root() / "smollm2-135m"
    return folder if (folder / "config.json").exists() else None


@pytest.mark.integration
def test_live_lm_eval_results_import(tmp_path: Path) -> None:
    """Run lm-eval 0.4.13 offline on a 4-row local task and import what it wrote."""
    model_dir = _model_dir()
    if model_dir is None:
        pytest.skip("the smollm2-135m HF folder is not converted yet (run `assay models path smollm2-135m`)")
    data = tmp_path / "tiny.jsonl"
    qa = [
        ("The capital of France is", ["Paris", "Berlin"], 0),
        ("Two plus two equals", ["three", "four"], 1),
        ("The sky on a clear day is", ["green", "blue"], 1),
        ("A dog is a kind of", ["animal", "stone"], 0),
    ]
    data.write_text("".join(json.dumps({"q": q, "choices": c, "label": lab}) + "\n" for q, c, lab in qa))
    (tmp_path / "tiny_live.yaml").write_text(
        f"task: tiny_live\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{q}}'\ndoc_to_choice: '{{choices}}'\n"
        "doc_to_target: label\nmetric_list:\n  - metric: acc\nmetadata:\n  version: 1.0\n"
    )
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_DATASETS_CACHE": str(tmp_path / "hf"),
    }
    cmd = [
        sys.executable,
        "-m",
        "lm_eval",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model_dir},dtype=float32",
        "--include_path",
        str(tmp_path),
        "--tasks",
        "tiny_live",
        "--batch_size",
        "4",
        "--output_path",
        str(tmp_path / "out"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    [results] = list((tmp_path / "out").rglob("results_*.json"))
    rows = read_lmeval_file(results, model="smollm2-135m")
    assert [(r.benchmark, r.metric, r.n) for r in rows] == [("tiny_live", "acc", 4)]
    assert 0.0 <= rows[0].score <= 1.0 and rows[0].stderr is not None
    lb = tmp_path / "lb.csv"
    append_rows(rows, lb)
    assert read_rows(lb)[0] == rows
