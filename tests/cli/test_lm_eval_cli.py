"""`assay lm-eval`: lm-eval's command line in, lm-eval's output files out.

The integration test runs lm-eval 0.4.13's own CLI and `assay lm-eval` with the same arguments on the same local
rows (an --include_path YAML that includes lm-eval's arc_easy.yaml and reads the data folder's JSONL) and compares
what both wrote, key by key; a script written against lm-eval's files and `assay leaderboard import` then read
assay's. The bad-input cases are refused in one line before anything is written.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli, assert_refused
from tests.conftest import assay_cmd

READER = """
import glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/*/results_*.json")):
    data = json.load(open(path))
    for task, values in data["results"].items():
        print(task, values["acc,none"], data["n-samples"][task]["effective"])
"""


def _smollm() -> str:
    from assay.models.aliases import hf_folder

    return str(hf_folder("smollm2-135m"))


def _include(folder: Path, data_dir: Path) -> Path:
    import lm_eval

    arc = Path(lm_eval.__file__).parent / "tasks" / "arc" / "arc_easy.yaml"
    folder.mkdir()
    (folder / "arc_easy_local.yaml").write_text(
        f"include: {arc}\ntask: arc_easy_local\ndataset_path: json\ndataset_name: null\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data_dir / 'allenai/ai2_arc/ARC-Easy/test.jsonl'}\n"
        "training_split: null\nvalidation_split: null\n",
        encoding="utf-8",
    )
    return folder


def _files(out: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    (results,) = sorted(out.glob("*/results_*.json"))
    (samples,) = sorted(out.glob("*/samples_arc_easy_local_*.jsonl"))
    rows = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines()]
    return json.loads(results.read_text(encoding="utf-8")), rows


def _numbers(resps: Any) -> list[float]:
    """The loglikelihoods of a sanitized filtered_resps ([["-23.5", "False"], ...])."""
    return [float(pair[0]) for pair in resps]


@pytest.mark.integration
@pytest.mark.needs_data
@pytest.mark.timeout(600)
def test_same_files_as_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    include = _include(tmp_path / "tasks", data_dir)
    args = ["--model", "hf", "--model_args", f"pretrained={_smollm()},dtype=float32", "--tasks", "arc_easy_local",
            "--include_path", str(include), "--device", "cpu", "--limit", "3", "--log_samples"]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    theirs, ours = tmp_path / "lm_eval_out", tmp_path / "assay_out"
    lm = [sys.executable, "-m", "lm_eval", "run", *args, "--output_path", str(theirs)]
    subprocess.run(lm, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=400)
    done = subprocess.run(assay_cmd("lm-eval", "run", *args, "--output_path", str(ours), "--batch_size", "auto"),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "|arc_easy_local|" in done.stdout and "acc_norm" in done.stdout  # lm-eval's table

    (a, a_rows), (b, b_rows) = _files(theirs), _files(ours)
    assert list(a) == list(b)  # the same top-level keys, in lm-eval's order
    assert a["n-samples"] == b["n-samples"] == {"arc_easy_local": {"original": 2376, "effective": 3}}
    for key in ("group_subtasks", "versions", "n-shot", "higher_is_better", "model_name", "model_name_sanitized"):
        assert a[key] == b[key], key
    assert a["results"].keys() == b["results"].keys()
    for task, values in a["results"].items():
        assert values.keys() == b["results"][task].keys()
        for metric, value in values.items():
            if isinstance(value, float):
                assert math.isclose(value, b["results"][task][metric], abs_tol=1e-6), (task, metric)
            else:
                assert value == b["results"][task][metric], (task, metric)
    assert sorted(a["config"]) == sorted(b["config"]) or set(a["config"]) - set(b["config"]) <= {
        "model_num_parameters", "model_dtype", "model_revision", "model_sha"}  # fmt: skip
    assert [r["doc_id"] for r in a_rows] == [r["doc_id"] for r in b_rows] == [0, 1, 2]
    for x, y in zip(a_rows, b_rows, strict=True):
        assert x.keys() == y.keys()
        for key in ("doc", "target", "arguments", "filter", "metrics", "doc_hash", "prompt_hash", "target_hash"):
            assert x[key] == y[key], key
        for metric in x["metrics"]:
            assert x[metric] == y[metric], metric
        assert [p[1] for p in x["filtered_resps"]] == [p[1] for p in y["filtered_resps"]]  # is_greedy
        for u, v in zip(_numbers(x["filtered_resps"]), _numbers(y["filtered_resps"]), strict=True):
            assert abs(u - v) < 1e-4, (u, v)  # float32 sums in another order: not bit-equal strings
    assert a["task_hashes"] == b["task_hashes"]

    # a script written against lm-eval's files prints the same from assay's
    read = [subprocess.run([sys.executable, "-c", READER, str(o)], capture_output=True, text=True, check=True).stdout
            for o in (theirs, ours)]  # fmt: skip
    assert read[0] == read[1] and read[0].startswith("arc_easy_local 0.666")
    board = tmp_path / "board.csv"
    (results_file,) = sorted(ours.glob("*/results_*.json"))
    imported = subprocess.run(assay_cmd("leaderboard", "import", str(results_file), "--leaderboard", str(board)),
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    text = board.read_text(encoding="utf-8")
    assert "arc_easy_local" in text and "smollm2-135m" in text


def _refused_args(smollm: str) -> list[tuple[list[str], str]]:
    model = ["--model", "hf", "--model_args", f"pretrained={smollm}"]
    return [
        ([*model, "--tasks", "arc_easy", "--no_such_flag"], "unrecognized arguments: --no_such_flag"),
        ([*model, "--tasks", "arc_easy", "--predict_only"], "--predict_only needs --output_path"),
        ([*model, "--tasks", "arc_easy", "--log_samples"], "--log_samples needs --output_path"),
        ([*model, "--tasks", "arc_easy", "--samples", '{"arc_easy": [0]}', "--limit", "2"], "exclude each other"),
        ([*model, "--tasks", "arc_easy", "--samples", "no_such_file.json"], "neither a JSON object nor a file"),
        ([*model, "--tasks", "arc_easy", "--samples", "{'arc_easy': [0]}"], "Invalid JSON"),
        ([*model, "--tasks", "arc_easy", "--samples", '{"arc_easy": [0, "3"]}'], "list of document ids"),
        ([*model, "--tasks", "arc_easy", "--samples", "[0, 1]"], "a JSON object of task -> document ids"),
        ([*model, "--tasks", "arc_easy", "--limit", "0"], "--limit 0.0: give a number of documents"),
        ([*model, "--tasks", "arc_easy", "--apply_chat_template", "chatml"], "a named template is not supported"),
        ([*model, "--tasks", "arc_easy", "--fewshot_as_multiturn", "true"], "needs --apply_chat_template"),
        ([*model, "--tasks", "arc_easy", "--hf_hub_log_args", "hub_results_org=x"], "--hf_hub_log_args"),
        (["--model", "hf", "--model_args", f"pretrainde={smollm}", "--tasks", "arc_easy"], "pretrainde"),
        (["--model", "vllm", "--tasks", "arc_easy"], "--model vllm"),
        ([*model, "--tasks", "arc_eazy", "--output_path", "out"], "unknown lm-eval task lm:arc_eazy"),
    ]


@pytest.mark.timeout(300)
def test_bad_inputs_are_one_line(cli: Cli) -> None:
    smollm = _smollm()
    cli.freeze()
    for args, fragment in _refused_args(smollm):
        assert_refused(cli("lm-eval", *args), cli, fragment)
    help_text = cli("lm-eval", "--help")
    assert help_text.code == 0 and "--model_args" in help_text.out and "--predict_only" in help_text.out
