"""docs/tasks.md cannot rot: every YAML block of it is loaded by assay's loader, and every task it defines runs
end to end (data blocks written beside it, `assay run --model fake`), so the page's examples stay complete and
working; every key of TaskSpec is explained in its field table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay.tasks.spec import TaskSpec, load_task_file
from tests.cli.conftest import Cli, cli  # noqa: F401  (the fixture: assay in-process, in an empty folder)

DOC = Path(__file__).resolve().parents[2] / "docs" / "tasks.md"
FENCE = re.compile(r"^```(\w+)([^\n]*)\n(.*?)^```$", re.S | re.M)


def _blocks() -> list[tuple[str, str, str]]:
    """(language, file name after it, body) of every fenced block of the page."""
    return [(lang, rest.strip(), body) for lang, rest, body in FENCE.findall(DOC.read_text(encoding="utf-8"))]


def _write_examples(folder: Path) -> list[Path]:
    """The page's data blocks under their names and each YAML block as its own file; the YAML files."""
    yamls = []
    for number, (lang, name, body) in enumerate(_blocks()):
        if lang == "jsonl":
            (folder / name).write_text(body, encoding="utf-8")
        elif lang == "yaml":
            yamls.append(folder / f"example_{number}.yaml")
            yamls[-1].write_text(body, encoding="utf-8")
    return yamls


def test_every_yaml_block_loads(tmp_path: Path) -> None:
    specs = [spec for path in _write_examples(tmp_path) for spec in load_task_file(path)]
    kinds = {(s.output_type, bool(s.filters), s.scorer) for s in specs}
    assert kinds == {("multiple_choice", False, None), ("generate", True, None),
                     ("generate", False, "assay.code.hooks:score_code")}  # fmt: skip
    for lang, name, body in _blocks():
        if lang == "jsonl":
            assert all(json.loads(line) for line in body.splitlines()), name


@pytest.mark.parametrize("task", ["capitals_mc", "arithmetic", "tiny_code"])
def test_every_example_runs(cli: Cli, task: str) -> None:  # noqa: F811  (the imported fixture)
    _write_examples(cli.work)
    listed = cli("tasks", task, "--include", ".")  # templates compiled and every row rendered
    assert listed.code == 0, listed.err
    done = cli("run", "--model", "fake", "--include", ".", "--tasks", task, "--no-leaderboard", "--run-dir", "run")
    assert done.code == 0, done.err
    summary = json.loads((cli.work / "run" / "summary.json").read_text())
    [result] = summary["results"]
    expected = {"capitals_mc": {"acc", "acc_norm"}, "tiny_code": {"pass@1", "passed_first"},
                "arithmetic": {"exact_match_strict", "exact_match_flexible", "edit_similarity"}}[task]  # fmt: skip
    assert set(result["metrics"]) == expected and result["n_samples"] > 0


def test_the_field_table_explains_every_key() -> None:
    text = DOC.read_text(encoding="utf-8")
    for key in TaskSpec.model_fields:
        if key != "source":  # filled by the loader, not written
            assert f"| `{key}" in text or f"`{key}`" in text, key


def test_the_code_examples_references_pass_in_the_sandbox(tmp_path: Path) -> None:
    """The code suite of the page is a working one: each problem's reference passes its tests in the sandbox."""
    from assay.code.score import load_problems, score_completions

    _write_examples(tmp_path)
    problems = load_problems(str(tmp_path / "tiny_code.jsonl"))
    outcomes = score_completions(problems, [(p.task_id, p.reference or "") for p in problems.values()], workers=1)
    assert len(outcomes) == 2 and all(o.passed for o in outcomes)
    wrong = score_completions(problems, [("tiny/add", "    return a - b\n")], workers=1)
    assert not wrong[0].passed
