"""lm-eval's requests as assay sends them (issue 23, "Requests"): the check of bench/bench_lmeval_requests.py on
a sample of tasks covering every output type and feature, and one run through the CLI whose summary must be
what lm-eval's own aggregations make of the samples' per-document metrics.

The sample: multiple_choice (arc_easy, mmlu_anatomy, winogrande's multiple_input partial scoring, boolq, piqa,
hellaswag), generate_until with regex filters (gsm8k, gsm8k_cot), repeats with sampling and majority_vote
(gsm8k_cot_self_consistency), a chat-style generation task (arc_challenge_chat), a group (mmlu_stem, 1 row per
task) and loglikelihood_rolling and loglikelihood (a user's own lm-eval YAMLs over a JSONL text file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from bench.bench_lmeval_requests import Recorder, differences

from tests.cli.conftest import Cli, cli  # noqa: F401  (the fixture)

pytest.importorskip("lm_eval")

TEXTS = [
    "The quick brown fox jumps over the lazy dog, twice.",
    "Perplexity measures how surprised a language model is by a text; lower is better.",
]
TASKS = ["arc_easy", "mmlu_anatomy", "winogrande", "boolq", "piqa", "hellaswag", "gsm8k", "gsm8k_cot",
         "gsm8k_cot_self_consistency", "arc_challenge_chat", "my_ppl", "my_ll"]  # fmt: skip


def write_ppl_task(folder: Path) -> Path:
    """A user's perplexity task in lm-eval's format: `dataset_path: json` over a JSONL file of texts."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = folder / "texts.jsonl"
    rows.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    (folder / "my_ppl.yaml").write_text(
        "task: my_ppl\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {rows}\n"
        "test_split: test\noutput_type: loglikelihood_rolling\ndoc_to_text: ''\ndoc_to_target: '{{text}}'\n"
        "metric_list:\n  - metric: word_perplexity\n  - metric: byte_perplexity\n  - metric: bits_per_byte\n"
        "metadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    (folder / "my_ll.yaml").write_text(  # loglikelihood: the continuation's log-probability, and whether greedy
        "task: my_ll\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {rows}\n"
        'test_split: test\noutput_type: loglikelihood\ndoc_to_text: \'{{text.split(" ")[:-1] | join(" ")}}\'\n'
        'doc_to_target: \'{{" " ~ text.split(" ")[-1]}}\'\nmetric_list:\n  - metric: perplexity\n  - metric: acc\n'
        "metadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    return folder


@pytest.fixture(scope="module")
def user_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_ppl_task(tmp_path_factory.mktemp("lm_user_tasks"))


def _built(name: str, user_tasks: Path, data_dir: Path, limit: int) -> list[Any]:
    """lm-eval's tasks for `name` (a task or group), built under local_rows, with their requests."""
    from assay.lmeval.catalog import task_manager
    from assay.lmeval.rows import local_rows

    with local_rows(data_dir, "test"):
        tasks = list(task_manager((str(user_tasks),)).load([name])["tasks"].values())
    for task in tasks:
        task.set_fewshot_seed(seed=1234)
        task.build_all_requests(limit=limit, rank=0, world_size=1)
    return tasks


@pytest.mark.parametrize("name", TASKS)
def test_assay_sends_lm_evals_requests(name: str, user_tasks: Path, data_dir: Path) -> None:
    (task,) = _built(name, user_tasks, data_dir, limit=2)
    instances = list(task.instances)
    sent = Recorder().send(task.OUTPUT_TYPE, instances)
    assert instances and differences(instances, sent) == []
    if name == "gsm8k_cot_self_consistency":  # repeats become n samples of one request, sampled
        assert {r.n for r in sent} == {64} and all(r.temperature > 0 for r in sent)
    if name == "winogrande":  # multiple_input: the contexts differ, the continuation is shared
        assert len({r.context for r in sent[:2]}) == 2 and sent[0].continuation == sent[1].continuation
    if name == "gsm8k":
        assert sent[0].stop == ("Question:", "</s>", "<|im_end|>") and sent[0].temperature == 0.0
    if name == "my_ppl":
        assert [r.text for r in sent] == TEXTS
    if name == "my_ll":
        assert [r.context + r.continuation for r in sent] == TEXTS


def test_a_group_sends_every_subtasks_requests(user_tasks: Path, data_dir: Path) -> None:
    tasks = _built("mmlu_stem", user_tasks, data_dir, limit=1)
    assert len(tasks) == 19
    for task in tasks:
        instances = list(task.instances)
        assert len(instances) == 4 and differences(instances, Recorder().send(task.OUTPUT_TYPE, instances)) == []


def test_differences_are_found(user_tasks: Path, data_dir: Path) -> None:
    """The check itself: a request whose stop sequences or n differ from lm-eval's is reported."""
    from dataclasses import replace

    (task,) = _built("gsm8k_cot_self_consistency", user_tasks, data_dir, limit=1)
    instances = list(task.instances)
    sent = Recorder().send(task.OUTPUT_TYPE, instances)
    assert differences(instances, [replace(sent[0], stop=sent[0].stop[1:], n=1)]) == [
        "request 0 (0): until, repeats differ"
    ]


def _aggregate(metric: str, values: list[Any]) -> float:
    from lm_eval.api.registry import get_metric_aggregation

    aggregate = get_metric_aggregation(metric)
    assert aggregate is not None, metric
    return float(aggregate([tuple(v) if isinstance(v, list) else v for v in values]))


def test_a_cli_run_scores_as_lm_eval(cli: Cli, user_tasks: Path, data_dir: Path) -> None:  # noqa: F811
    """`assay run` over two lm-eval tasks and the user's perplexity YAML: each summary metric is lm-eval's
    aggregation of the per-document metrics its sample log (extras.lm_eval) keeps."""
    done = cli("run", "--model", "fake", "--tasks", "lm:arc_easy,lm:gsm8k,lm:my_ppl", "--include", str(user_tasks),
               "--limit", "3", "--data-dir", str(data_dir), "--output", "out", "--no-leaderboard", "-q")  # fmt: skip
    assert done.code == 0, done.err
    (run,) = (cli.work / "out").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    checked = 0
    for result in summary["results"]:
        lines = next((run / "samples").glob(f"*{result['task'].replace(':', '_')}.jsonl")).read_text().splitlines()
        logs = [entry for line in lines for entry in json.loads(line)["extras"]["lm_eval"]]
        assert len(lines) == result["n_samples"] == (2 if result["task"] == "lm:my_ppl" else 3)
        for label, value in result["metrics"].items():
            metric, _, filt = label.partition(",")
            values = [e[metric] for e in logs if e["filter"] == (filt or "none")]
            assert value["value"] == pytest.approx(_aggregate(metric, values), rel=1e-12), (result["task"], label)
            checked += 1
    assert checked == 7  # acc, acc_norm; two exact_match filters; word/byte perplexity, bits_per_byte
