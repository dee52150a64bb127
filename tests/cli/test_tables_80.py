"""Every command's table at COLUMNS=80 breaks no word inside: compare, dvc diff, tasks, run's results,
leaderboard show/--long/history and the gate. A word of the data (task, metric, model, path, run id, header,
verdict) must appear whole; a piece of one (`hell`, `aswa`, `g`) is a failure. Shortened forms are allowed only
as the renderer makes them: a run id's unique suffix, a path's unique tail `…/merged`."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from assay.cli.run import print_results
from assay.runs.folder import open_run
from assay.tasks.catalog import all_tasks, groups_of
from tests.cli.conftest import Cli
from tests.leaderboard.runfactory import write_run
from tests.tracking.runfolders import write_run as write_single_model_run

PATH_MODEL = "/home/user/checkpoints/step-12000/merged"
TASKS = ("hellaswag", "arc_challenge", "winogrande_xl")
RUN_A, RUN_B = "20261201-100000-aaa111", "20261202-100000-bbb222"
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
BOX = re.compile(r"[\u2500-\u257f]")  # box drawing


def broken_words(output: str, data: Iterable[str]) -> list[str]:
    """The words of `data` that `output` does not show whole: neither as a word, nor (a run id) as a unique
    suffix of 6 or more characters, nor (a path) as a `…/tail` that the output's legend spells out in full."""
    tokens = {t.strip("[](),;") for t in BOX.sub(" ", output).split()}
    missing = []
    for word in {w.strip("[](),;") for text in data for w in text.split()}:
        if word in tokens:
            continue
        if RUN_ID.fullmatch(word) and any(len(t) >= 6 and word.endswith(t) for t in tokens):
            continue
        tails = [t for t in tokens if t.startswith("…/") and word.endswith(t[1:])]
        if tails and f"{tails[0]} = {word}" in " ".join(output.split()):
            continue
        missing.append(word)
    return sorted(missing)


def assert_fits(output: str, data: Iterable[str]) -> None:
    """No table line wider than 80 columns, and every data word shown whole."""
    lines = output.splitlines()
    assert lines, "nothing printed"
    table_lines = [line for line in lines if BOX.search(line)]
    assert max((len(line) for line in table_lines), default=0) <= 80, max(table_lines, key=len)
    assert not broken_words(output, data), (broken_words(output, data), output)


@pytest.fixture
def runs(cli: Cli) -> Path:
    a = {(PATH_MODEL, t): [1, 0, 1, 1, 0, 1, 0, 1] * 3 for t in TASKS}
    b = {("smollm2-135m", t): [1, 1, 0, 1, 0, 1, 1, 0] * 3 for t in TASKS}
    board = cli.work / "lb.csv"
    write_run(cli.work / "runs", RUN_A, "2026-12-01T10:00:00+00:00", a, leaderboard=board)
    write_run(cli.work / "runs", RUN_B, "2026-12-02T10:00:00+00:00", b, leaderboard=board)
    return cli.work / "runs"


DATA = [PATH_MODEL, "smollm2-135m", RUN_A, RUN_B, *TASKS, "acc acc_norm"]
COMPARED = "task metric mean A B CI test p (Holm) W/T/L verdict mcnemar_exact no significant difference"


def test_the_checker_finds_a_word_folded_by_a_plain_rich_table() -> None:
    """The check itself: rich's own table at 80 columns folds `hellaswag` (the bug this file guards against)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=80, record=True, file=io.StringIO())
    table = Table("task", "metric", "n", "mean A", "mean B", "A - B", "CI", "test", "p", "p (Holm)", "W/T/L",
                  "verdict")  # fmt: skip
    table.add_row("hellaswag", "acc_norm", "8", "0.625", "0.625", "0", "95% [-0.5, 0.5]", "mcnemar_exact",
                  "1", "1", "2/4/2", "no significant difference")  # fmt: skip
    for column in table.columns:
        column.overflow = "fold"
    console.print(table)
    assert broken_words(console.export_text(), ["hellaswag acc_norm mcnemar_exact no significant difference"])


def test_compare(cli: Cli, runs: Path) -> None:
    done = cli("compare", RUN_A, RUN_B)
    assert done.code == 0, done.err
    assert_fits(done.out, [*DATA, COMPARED])


def test_dvc_diff(cli: Cli, runs: Path) -> None:
    done = cli("dvc", "diff", "workspace", "workspace", "--runs", "runs")
    assert done.code == 0, done.err
    # a stage is a run folder's name (here the runs' ids); both sides are the same folders: all paired
    assert_fits(done.out, [RUN_A, RUN_B, *TASKS, "acc acc_norm stage paired delta workspace mcnemar_exact"])
    assert "every sample paired" in done.out


def test_tasks(cli: Cli) -> None:
    done = cli("tasks")
    assert done.code == 0, done.err
    known = all_tasks([])
    data = [f"{name} {t.output_type} {t.dataset.split} {' '.join(m.label for m in t.metrics)} {' '.join(t.groups)} "
            + (t.dataset.data_files or f"{t.dataset.path}/{t.dataset.name or 'default'}")
            for name, t in known.items()]  # fmt: skip
    assert_fits(done.out, [*data, *groups_of(known), "name type dataset split metrics groups"])


def test_run_results(cli: Cli, capfd: pytest.CaptureFixture[str]) -> None:
    folder = write_single_model_run(cli.work / "runs", RUN_A, model=PATH_MODEL, tasks=TASKS, n=8)
    run = open_run(folder)
    capfd.readouterr()
    print_results(run.record, run.path)
    out = capfd.readouterr().out
    assert_fits(out, [PATH_MODEL, RUN_A, *TASKS, "acc model task metric value ± stderr n"])


def test_leaderboard_views(cli: Cli, runs: Path) -> None:
    for args in (("show",), ("show", "--long"), ("show", "--latest"), ("history", PATH_MODEL)):
        done = cli("leaderboard", *args, "-l", "lb.csv")
        assert done.code == 0, (args, done.err)
        models = [PATH_MODEL] if args[0] == "history" else [PATH_MODEL, "smollm2-135m"]
        assert_fits(done.out, [*models, *TASKS, "acc"] + ([] if "--latest" in args else [RUN_A]))


def test_gate(cli: Cli, runs: Path) -> None:
    done = cli("gate", "--candidate", RUN_A, "--baseline", RUN_B, "--output", "runs")
    assert done.code in (0, 1), done.err
    assert_fits(done.out, [*TASKS, "acc acc_norm task metric n baseline candidate Δ p (Holm) status n.s."])


def test_score(cli: Cli) -> None:
    row = {"id": "capital_of_france", "reference": "Paris is the capital of France",
           "outputs": {PATH_MODEL: "Paris is the capital of France, on the Seine river.", "smollm2-135m": "Lyon"}}
    cli.write("o.jsonl", json.dumps(row) + "\n")
    done = cli("score", "o.jsonl", "--metrics", "exact_match,edit_distance,ast")
    assert done.code == 0, done.err
    assert_fits(done.out, [PATH_MODEL, "smollm2-135m", "capital_of_france Paris is the capital of France, on the",
                           "Lyon exact_match edit_distance ast_parses ast_equal ast_similarity id model output n"])
