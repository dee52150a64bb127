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


# top-level keys of lm-eval's results file that differ between two runs of the same command
VOLATILE = {"date", "total_evaluation_time_seconds"}


def _both(tmp_path: Path, data_dir: Path, *extra: str, ours_extra: tuple[str, ...] = (), ids: tuple[str, ...] = (),
          our_ids: str = "") -> tuple[Path, Path, str]:  # fmt: skip
    """lm-eval's CLI and `assay lm-eval` on the same command (assay may get `ours_extra` too, and `--samples
    our_ids` instead of `ids`): their output folders and assay's stdout."""
    include = _include(tmp_path / "tasks", data_dir)
    args = ["--model", "hf", "--model_args", f"pretrained={_smollm()},dtype=float32", "--tasks", "arc_easy_local",
            "--include_path", str(include), "--device", "cpu", *extra]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    theirs, ours = tmp_path / "lm_eval_out", tmp_path / "assay_out"
    lm = [sys.executable, "-m", "lm_eval", "run", *args, *ids, "--output_path", str(theirs)]
    subprocess.run(lm, cwd=tmp_path, env=env, check=True, capture_output=True, timeout=400)
    mine = ("--samples", our_ids) if our_ids else ids
    done = subprocess.run(assay_cmd("lm-eval", "run", *args, *mine, *ours_extra, "--output_path", str(ours)),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return theirs, ours, done.stdout


def _same_results(a: dict[str, Any], b: dict[str, Any], batch: bool = True) -> None:
    """Key by key, in lm-eval's order: metrics within 1e-6, everything else equal (the model's info, each task's
    config with lm-eval's metadata, the environment, tokenizer fields, hashes); `batch`: batch_size too."""
    assert list(a) == list(b)
    for key in set(a) - VOLATILE - {"results", "config"}:
        assert a[key] == b[key], key
    skip = set() if batch else {"batch_size", "batch_sizes"}
    assert list(a["config"]) == list(b["config"])
    assert {k: v for k, v in a["config"].items() if k not in skip} == {
        k: v for k, v in b["config"].items() if k not in skip}  # fmt: skip
    assert a["config"]["model_num_parameters"] == 134515008  # SmolLM2-135M, counted without loading it
    assert a["results"].keys() == b["results"].keys()
    for task, values in a["results"].items():
        assert list(values) == list(b["results"][task])
        for metric, value in values.items():
            if isinstance(value, float):
                assert math.isclose(value, b["results"][task][metric], abs_tol=1e-6), (task, metric)
            else:
                assert value == b["results"][task][metric], (task, metric)


def _same_samples(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]) -> None:
    for x, y in zip(a_rows, b_rows, strict=True):
        assert list(x) == list(y)
        for key in ("doc_id", "doc", "target", "arguments", "filter", "metrics", "doc_hash", "prompt_hash",
                    "target_hash"):  # fmt: skip
            assert x[key] == y[key], key
        for metric in x["metrics"]:
            assert x[metric] == y[metric], metric
        assert [p[1] for p in x["filtered_resps"]] == [p[1] for p in y["filtered_resps"]]  # is_greedy
        for u, v in zip(_numbers(x["filtered_resps"]), _numbers(y["filtered_resps"]), strict=True):
            assert abs(u - v) < 1e-4, (u, v)  # float32 sums in another order: not bit-equal strings


@pytest.mark.integration
@pytest.mark.needs_data
@pytest.mark.timeout(600)
def test_same_files_as_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    # --limit 0.001: a fraction, ceil(2376 * 0.001) = 3 documents, as lm-eval takes it
    # --metadata: merged with the model args into each task's config metadata, as lm-eval's TaskManager does
    theirs, ours, out = _both(tmp_path, data_dir, "--limit", "0.001", "--log_samples", "--metadata", "note=kept",
                              "dtype=float16", ours_extra=("--batch_size", "auto"))  # fmt: skip
    assert "|arc_easy_local|" in out and "acc_norm" in out  # lm-eval's table

    (a, a_rows), (b, b_rows) = _files(theirs), _files(ours)
    assert a["n-samples"] == b["n-samples"] == {"arc_easy_local": {"original": 2376, "effective": 3}}
    assert a["config"]["limit"] == b["config"]["limit"] == 0.001
    meta = b["configs"]["arc_easy_local"]["metadata"]
    assert (meta["note"], meta["dtype"], list(meta)[-1]) == ("kept", "float16", "config_source")  # --metadata wins
    _same_results(a, b, batch=False)  # assay was given --batch_size auto
    assert [r["doc_id"] for r in a_rows] == [r["doc_id"] for r in b_rows] == [0, 1, 2]
    _same_samples(a_rows, b_rows)

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


@pytest.mark.integration
@pytest.mark.needs_data
@pytest.mark.timeout(600)
def test_samples_and_predict_only_as_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    """--samples with --predict_only: the same files as lm-eval's. assay is given the ids unsorted: it evaluates
    the same documents, each under its own id (lm-eval 0.4.13, given [4, 2], labels row 2 as 4 and row 4 as 2)."""
    ids = ("--samples", '{"arc_easy_local": [2, 4]}')
    theirs, ours, out = _both(tmp_path, data_dir, "--predict_only", ids=ids, our_ids='{"arc_easy_local": [4, 2]}')
    (a, a_rows), (b, b_rows) = _files(theirs), _files(ours)
    assert a["n-samples"] == b["n-samples"] == {"arc_easy_local": {"original": 2376, "effective": 0}}
    assert a["higher_is_better"] == b["higher_is_better"] == {"arc_easy_local": {"bypass": True}}
    _same_results(a, b)
    rows = (data_dir / "allenai/ai2_arc/ARC-Easy/test.jsonl").read_text(encoding="utf-8").splitlines()
    assert [r["doc_id"] for r in a_rows] == [r["doc_id"] for r in b_rows] == [2, 4]
    assert [r["doc"]["id"] for r in b_rows] == [json.loads(rows[2])["id"], json.loads(rows[4])["id"]]
    assert all(r["metrics"] == [] for r in b_rows)
    _same_samples(a_rows, b_rows)
    assert "|Tasks|Version|" in out and "arc_easy_local" not in out.split("|Tasks|")[1]  # lm-eval's empty table


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
        (["--model", "hf", "--model_args", "{bad", "--tasks", "arc_easy"], "argument --model_args/-a: Invalid JSON"),
        ([*model, "--tasks", "arc_easy", "--metadata", "{bad"], "argument --metadata: Invalid JSON"),
        ([*model, "--tasks", "arc_easy", "--metadata", "novalue"], "argument --metadata: expected `key=value`"),
        ([*model, "--tasks", "arc_easy", "--gen_kwargs", "{bad"], "argument --gen_kwargs: Invalid JSON"),
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


def test_limit_and_samples_as_lm_eval_reads_them(tmp_path: Path) -> None:
    """--limit below 1.0 stays a fraction, above it is truncated as lm-eval's int(); --samples is JSON inline or
    a file holding it (lm:-prefixed names accepted); --predict_only implies --log_samples."""
    from assay.cli._lmeval_args import parse, translate

    base = ["--model", "hf", "--model_args", "pretrained=DIR", "--tasks", "arc_easy,piqa", "--output_path", "o"]
    for given, limit in (("0.25", 0.25), ("2.7", 2), ("5", 5)):
        assert translate(parse([*base, "--limit", given])).fields["limit"] == limit
    ids = tmp_path / "ids.json"
    ids.write_text('{"lm:arc_easy": [3, 1], "piqa": []}', encoding="utf-8")
    for samples in (str(ids), ids.read_text(encoding="utf-8")):
        drop = translate(parse(["run", *base, "--samples", samples, "--predict_only"]))
        assert drop.fields["samples"] == {"arc_easy": (3, 1), "piqa": ()}
        assert drop.fields["limit"] is None and drop.fields["predict_only"] and drop.log_samples
    assert translate(parse(base)).fields["predict_only"] is False


def test_model_dtype_and_metadata_as_lm_eval_takes_them() -> None:
    """No dtype in --model_args: lm-eval's HFLM default, the checkpoint's own ("auto"); --metadata (key=value or
    JSON) is merged over the model args, as lm-eval's TaskManager gets them."""
    from assay.cli._lmeval_args import parse, translate

    base = ["--model", "hf", "--model_args", "pretrained=DIR", "--tasks", "arc_easy"]
    plain = translate(parse(base)).fields
    assert plain["models"][0]["args"] == {"pretrained": "DIR", "dtype": "auto"}
    assert plain["metadata"] == {"pretrained": "DIR"}
    given = translate(parse([*base, "--model_args", "dtype=bfloat16", "--metadata", '{"pretrained": "X", "n": [1]}']))
    assert given.fields["models"][0]["args"]["dtype"] == "bfloat16"
    assert given.fields["metadata"] == {"pretrained": "X", "dtype": "bfloat16", "n": [1]}
