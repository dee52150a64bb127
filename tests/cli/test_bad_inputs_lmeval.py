"""Bad lm-eval task files and names (issue 23, item 6): each is refused in one `error:` line naming the file and
the key (plus at most a `hint:`), exit code 2, nothing written, before any model loads: the cases run with
--model smollm2-135m, whose weights are never read (a model load would take longer than the whole refusal,
and its errors would come first).

The lm-eval YAMLs all read rows of a JSONL file through lm-eval's own local-file form (`dataset_path: json`);
the broken ones share one --include folder (one lm-eval index for the module), the broken `include:` has its
own (lm-eval's index skips a file it cannot read, so that task is reported through its file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_refused

pytest.importorskip("lm_eval")

ROWS = [
    {"question": "2+2?", "choices": ["3", "4"], "answer": 1},
    {"question": "1+1?", "choices": ["2", "5"], "answer": 0},
]


def _yaml(task: str, rows: Path, extra: str = "") -> str:
    return (
        f"task: {task}\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {rows}\ntest_split: test\n"
        'output_type: multiple_choice\ndoc_to_text: "Q: {{question}}\\nA:"\ndoc_to_choice: "{{choices}}"\n'
        f"doc_to_target: answer\n{extra}"
    )


BAD = {
    "t_function": "process_docs: !function nosuch_module.process\n",
    "t_metric": "metric_list:\n  - metric: acc_nrom\n",
    "t_filter": "filter_list:\n  - name: pick\n    filter:\n      - function: no_such_filter\n",
    "t_image": "doc_to_image: image\n",
    "t_unsafe": "unsafe_code: true\n",
    "t_good": "metric_list:\n  - metric: acc\n",
}


@pytest.fixture(scope="module")
def lm_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lm_bad")
    rows = root / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    for name, extra in BAD.items():
        (root / "bad" / f"{name}.yaml").parent.mkdir(exist_ok=True)
        (root / "bad" / f"{name}.yaml").write_text(_yaml(name, rows, extra), encoding="utf-8")
    (root / "inc").mkdir()
    (root / "inc" / "t_include.yaml").write_text("include: _gone.yaml\n" + _yaml("t_include", rows), encoding="utf-8")
    return root


def _run(cli: Cli, include: Path, task: str) -> tuple[str, ...]:
    return ("run", "--model", "smollm2-135m", "--include", str(include), "--tasks", task, "--output", "out",
            "--leaderboard", "lb.csv", "-q")  # fmt: skip


# (case id, --include folder under lm_tasks, --tasks, fragments of the error line besides the file's name)
CASES = [
    ("missing-function", "bad", "lm:t_function",
     ("t_function.yaml:11:", "process_docs", "!function nosuch_module.process", "nosuch_module")),
    ("unknown-metric", "bad", "lm:t_metric", ("t_metric.yaml", "metric_list", "'acc_nrom'", "did you mean 'acc_norm'")),
    ("unknown-filter", "bad", "lm:t_filter", ("t_filter.yaml", "filter_list", "'no_such_filter'")),
    ("doc-to-image", "bad", "lm:t_image", ("t_image.yaml", "doc_to_image", "not supported")),
    ("unsafe-code", "bad", "lm:t_unsafe", ("t_unsafe.yaml", "unsafe_code", "sandbox")),
    ("broken-include", "inc", "lm:t_include", ("t_include.yaml", "include: _gone.yaml does not exist")),
]  # fmt: skip


@pytest.mark.parametrize(("folder", "task", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_lm_eval_task_is_refused(
    cli: Cli, lm_tasks: Path, folder: str, task: str, fragments: tuple[str, ...]
) -> None:
    cli.freeze()
    done = cli(*_run(cli, lm_tasks / folder, task))
    assert_refused(done, cli, *fragments)
    assert str(lm_tasks / folder) in done.error_lines[0]  # the file is named by its path


def test_the_good_task_beside_them_runs(cli: Cli, lm_tasks: Path) -> None:
    """The control: the same folder's good task runs (the bad files beside it do not get in its way)."""
    done = cli("run", "--model", "fake", "--include", str(lm_tasks / "bad"), "--tasks", "lm:t_good", "--output",
               "out", "--leaderboard", "lb.csv", "-q")  # fmt: skip
    assert done.code == 0, done.err
    assert len(list((cli.work / "out").iterdir())) == 1


NAME_CASES = [
    ("lm-typo", ("--tasks", "lm:arc_eazy"), ("unknown lm-eval task lm:arc_eazy", "did you mean 'lm:arc_easy'")),
    ("plain-name-of-an-lm-eval-task", ("--tasks", "t_good"), ("unknown task 't_good'", "lm:t_good")),
]  # fmt: skip


@pytest.mark.parametrize(("args", "fragments"), [c[1:] for c in NAME_CASES], ids=[c[0] for c in NAME_CASES])
def test_a_wrong_lm_eval_name_is_refused(
    cli: Cli, lm_tasks: Path, args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    cli.freeze()
    done = cli("run", "--model", "smollm2-135m", "--include", str(lm_tasks / "bad"), *args, "--output", "out", "-q")
    assert_refused(done, cli, *fragments)
