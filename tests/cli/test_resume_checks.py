"""`assay run --resume RUN` checks what a fresh run checks (the saved config's tasks, their data, the models and
their arguments) before it touches the unfinished run: an input that has gone bad since the run stopped is one
`error:` line (plus at most a `hint:`), exit code 2, and the working folder byte for byte as it was, the
`.partial` folder and its journal included; and no "continue with: assay run --resume" hint, which a run that
failed after it started gives (and which would only fail the same way again). The control case resumes the
same folder, undamaged, to the end.

The unfinished run is a real one: the fake backend's `raise_after` (a simulated bug in assay) stops it with
two units of four requests journaled, and keeps the folder as any failed run does.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_refused

TASK = """name: tiny
dataset: {path: local/tiny, split: test}
doc_to_text: "Q: {{question}}\\nA:"
doc_to_choice: "choices"
doc_to_target: "answer"
metrics: [acc]
"""
ROWS = [{"question": f"{i}+{i}?", "choices": [str(2 * i), str(2 * i + 1)], "answer": 0} for i in range(6)]
ROWS_FILE = "data/local/tiny/default/test.jsonl"


def _rows(rows: list[dict[str, object]]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def _stopped_run(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A run of 12 requests stopped by a bug after 8 of them (units of 4): its `.partial` folder."""
    monkeypatch.setenv("ASSAY_CHUNK_SIZE", "4")
    cli.write("tiny.yaml", TASK)
    cli.write(ROWS_FILE, _rows(ROWS))
    done = cli("run", "--model", "fake", "--model-args", "raise_after=8", "--tasks", "tiny.yaml",
               "--data-dir", "data", "--no-leaderboard", "--no-cache", "-q")  # fmt: skip
    assert done.code == 1, done.err
    [partial] = (cli.work / "runs").glob("*.partial")
    assert (partial / "responses.sqlite").is_file()
    return partial


def _config(partial: Path, change: Callable[[dict], None]) -> None:
    path = partial / "config.json"
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config))


def _hf_model_gone(partial: Path) -> None:
    """The run's model is an hf checkpoint folder that has since been deleted (the saved config names it)."""
    _config(partial, lambda c: c["models"][0].update(model="hf", args={"pretrained": "./ckpt"}))


def _row_lost_a_field(partial: Path) -> None:
    """The fourth row of the task's data file no longer has its answer."""
    rows = ROWS[:3] + [{"question": "3+3?", "choices": ["6", "7"]}] + ROWS[4:]
    (partial.parent.parent / ROWS_FILE).write_text(_rows(rows))


DAMAGE: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "data folder gone": (lambda partial: shutil.rmtree(partial.parent.parent / "data"), ("data folder",)),
    "row lost a field": (_row_lost_a_field, ("test.jsonl:4",)),
    "task file gone": (lambda partial: (partial.parent.parent / "tiny.yaml").unlink(), ("tiny.yaml",)),
    "model folder gone": (_hf_model_gone, ("ckpt",)),
    "bad model argument": (lambda p: _config(p, lambda c: c["models"][0]["args"].update(seeed=1)), ("seeed",)),
    "bad generation setting": (lambda p: _config(p, lambda c: c.update(gen_kwargs={"temprature": 0})),
                               ("temprature",)),
}  # fmt: skip


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_a_resumed_run_whose_inputs_went_bad_is_refused_before_touching_its_folder(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    partial = _stopped_run(cli, monkeypatch)
    spoil, fragments = DAMAGE[damage]
    spoil(partial)
    cli.freeze()
    refused = cli("run", "--resume", partial.name, "-q")
    assert_refused(refused, cli, *fragments)
    assert "continue with" not in refused.err  # refused as a bad input before the run, not a run that failed


def test_the_same_resume_with_its_inputs_intact_finishes_the_run(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = _stopped_run(cli, monkeypatch)
    done = cli("run", "--resume", partial.name, "-q")
    assert done.code == 0, done.err
    final = partial.with_name(partial.name.removesuffix(".partial"))
    stats = json.loads((final / "summary.json").read_text())["stats"]["fake"]
    assert (stats["requests_computed"], stats["requests_total"]) == (4, 12)  # only the unit the bug stopped
