"""lm-eval's --limit fraction, --samples and --predict_only on lm: tasks (issue 24), and lm-eval's tasks built once
per run: real lm-eval over two small JSONL tasks, answered by the fake backend, in this process (a few seconds).
Against lm-eval's own CLI: tests/cli/test_lm_eval_cli.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from assay.config import ModelSpec, RunConfig
from assay.errors import UsageError
from assay.records import RunRecord
from assay.runs.folder import open_run

lm_eval = pytest.importorskip("lm_eval")

SIZES = {"t_seven": 7, "t_four": 4}


def _rows(n: int) -> list[dict[str, Any]]:
    return [{"question": f"{i}+1?", "choices": [str(i), str(i + 1)], "answer": 1} for i in range(n)]


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lm_opts")
    for name, n in SIZES.items():
        rows = root / f"{name}.jsonl"
        rows.write_text("".join(json.dumps(r) + "\n" for r in _rows(n)), encoding="utf-8")
        (root / f"{name}.yaml").write_text(
            f"task: {name}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {rows}\ntest_split: test\n"
            'output_type: multiple_choice\ndoc_to_text: "Q: {{question}}\\nA:"\ndoc_to_choice: "{{choices}}"\n'
            "doc_to_target: answer\nmetric_list:\n  - metric: acc\n",
            encoding="utf-8",
        )
    return root


def _config(tasks: Path, tmp: Path, models: int = 1, **fields: Any) -> RunConfig:
    specs = tuple(ModelSpec(name=f"fake{i}", model="fake") for i in range(models))
    return RunConfig(models=specs, tasks=("lm:t_seven", "lm:t_four"), task_files=(str(tasks),), output=str(tmp),
                     leaderboard=None, use_cache=False, **fields)  # fmt: skip


def _run(config: RunConfig) -> tuple[RunRecord, Path]:
    from assay.preflight import check_run
    from assay.runner import run_evaluation

    check_run(config)  # as `assay run` and `assay lm-eval` do: lm-eval's tasks are built here
    return run_evaluation(config, show_progress=False)


def _logged(folder: Path, model: str, task: str) -> list[dict[str, Any]]:
    return [e for s in open_run(folder).samples(model, f"lm:{task}") for e in s.extras["lm_eval"]]


def _raw(folder: Path, model: str = "fake0") -> dict[str, Any]:
    return json.loads((folder / "lm_eval" / f"{model}.json").read_text(encoding="utf-8"))


def test_a_fraction_is_of_each_task_rounded_up(tasks: Path, tmp_path: Path) -> None:
    record, folder = _run(_config(tasks, tmp_path, limit=0.3))
    from lm_eval.evaluator_utils import get_sample_size

    class Docs:  # what get_sample_size reads of a task
        def __init__(self, n: int) -> None:
            self.eval_docs = range(n)

    for name, n in SIZES.items():
        expected = math.ceil(n * 0.3)  # 3 of 7, 2 of 4
        assert expected == get_sample_size(Docs(n), 0.3)
        assert _raw(folder)["n-samples"][name] == {"original": n, "effective": expected}
        assert [e["doc_id"] for e in _logged(folder, "fake0", name)] == list(range(expected))
    assert {r.task: r.n_samples for r in record.results} == {"lm:t_seven": 3, "lm:t_four": 2}
    assert record.config["limit"] == 0.3


def test_samples_evaluate_those_documents_under_their_own_ids(tasks: Path, tmp_path: Path) -> None:
    _, folder = _run(_config(tasks, tmp_path, samples={"t_seven": [5, 1, 5]}))
    logged = _logged(folder, "fake0", "t_seven")
    assert [e["doc_id"] for e in logged] == [1, 5]  # each once, in dataset order
    rows = _rows(7)
    assert [e["doc"] for e in logged] == [rows[1], rows[5]]  # the id is the document's own row
    assert _raw(folder)["n-samples"]["t_seven"]["effective"] == 2
    assert _raw(folder)["n-samples"]["t_four"]["effective"] == 4  # a task --samples leaves out runs whole (lm-eval)


def test_predict_only_logs_answers_and_scores_nothing(tasks: Path, tmp_path: Path) -> None:
    record, folder = _run(_config(tasks, tmp_path, limit=2, predict_only=True))
    raw = _raw(folder)
    assert raw["higher_is_better"]["t_seven"] == {"bypass": True}  # lm-eval's predict-only metric
    assert raw["n-samples"]["t_seven"] == {"original": 7, "effective": 0}
    assert all(not r.metrics for r in record.results)
    logged = _logged(folder, "fake0", "t_seven")
    assert [e["doc_id"] for e in logged] == [0, 1] and all(e["metrics"] == [] for e in logged)
    assert all(len(e["resps"]) == 2 for e in logged)  # both choices answered


@pytest.mark.parametrize("models", [1, 2])
def test_lm_evals_tasks_are_built_once_per_model(
    tasks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models: int
) -> None:
    """The preflight's build is evaluated by the first model (no second build); another model builds its own
    (lm-eval's tasks keep each evaluation's instances)."""
    from lm_eval.tasks import TaskManager

    built: list[object] = []
    load = TaskManager.load

    def counting(self: Any, task_list: Any) -> Any:
        built.append(task_list)
        return load(self, task_list)

    monkeypatch.setattr(TaskManager, "load", counting)
    record, folder = _run(_config(tasks, tmp_path, models=models, limit=3))
    assert len(built) == models
    for i in range(models):
        assert _raw(folder, f"fake{i}")["n-samples"]["t_four"]["effective"] == 3
        assert [e["doc_id"] for e in _logged(folder, f"fake{i}", "t_four")] == [0, 1, 2]


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"samples": {"t_sevn": [0]}}, "--samples: t_sevn is not one of the tasks evaluated (did you mean 't_seven'?)"),
        ({"samples": {"t_four": [0, 4]}}, "--samples: t_four has 4 documents (ids 0 to 3); 4 is not one"),
    ],
)
def test_samples_naming_what_is_not_there_is_refused_before_the_model(
    tasks: Path, tmp_path: Path, fields: dict[str, Any], fragment: str
) -> None:
    from assay.preflight import check_run

    with pytest.raises(UsageError) as caught:
        check_run(_config(tasks, tmp_path, **fields))
    assert fragment in str(caught.value)
    assert not any(tmp_path.iterdir())  # no run folder


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"tasks": ("arc_easy",), "limit": 0.5}, "a fractional limit applies to lm-eval's tasks"),
        ({"tasks": ("lm:arc_easy", "piqa"), "predict_only": True}, "predict_only applies to lm-eval's tasks"),
        ({"tasks": ("lm:arc_easy",), "samples": {"arc_easy": [0]}, "limit": 3}, "samples and limit exclude"),
        ({"tasks": ("lm:arc_easy",), "limit": 1.5}, "a whole number of rows or a fraction below 1"),
    ],
)
def test_run_config_keeps_lm_evals_options_to_lm_tasks(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match="validation error") as caught:
        RunConfig(models=(ModelSpec(model="fake"),), **fields)
    assert fragment in str(caught.value)


def test_metadata_reaches_the_tasks_own_code(tmp_path: Path) -> None:
    """--metadata is merged into each task's metadata, which lm-eval hands to a task's `custom_dataset` function
    (as RULER builds its rows): here the number of rows it makes."""
    folder = tmp_path / "meta_task"
    folder.mkdir()
    (folder / "rows_fn.py").write_text(
        "import datasets\n\n\ndef make(n_rows, **_):\n"
        "    rows = [{'question': f'{i}?', 'choices': ['a', 'b'], 'answer': i % 2} for i in range(n_rows)]\n"
        "    return datasets.DatasetDict({'test': datasets.Dataset.from_list(rows)})\n",
        encoding="utf-8",
    )
    (folder / "t_meta.yaml").write_text(
        "task: t_meta\ncustom_dataset: !function rows_fn.make\ntest_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "Q: {{question}}\\nA:"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: answer\n'
        "metric_list:\n  - metric: acc\nmetadata:\n  version: 2.0\n",
        encoding="utf-8",
    )
    config = RunConfig(models=(ModelSpec(name="fake0", model="fake"),), tasks=("lm:t_meta",),
                       task_files=(str(folder),), output=str(tmp_path / "runs"), leaderboard=None, use_cache=False,
                       metadata={"n_rows": 3})  # fmt: skip
    record, run_dir = _run(config)
    assert [r.n_samples for r in record.results] == [3]
    assert _raw(run_dir)["configs"]["t_meta"]["metadata"] == {
        "version": 2.0, "n_rows": 3, "config_source": str(folder / "t_meta.yaml")}  # fmt: skip
