"""`assay leaderboard show` in an 80-column terminal (COLUMNS=80): no name is cut, run ids are shortened to a
unique suffix, paths (and hub ids) to a unique tail spelled out under the table, every score is shown; --wide and
--json give everything."""

from __future__ import annotations

import json
from pathlib import Path

from assay.leaderboard.store import LeaderboardRow, append_rows
from tests.cli.conftest import Cli

MODELS = ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m", "gemma3-270m", "/ckpt/step-12000/merged")
TASKS = (("arc_easy", "acc"), ("hellaswag", "acc_norm"), ("winogrande", "acc"), ("piqa", "acc"),
         ("humaneval", "pass@1"), ("gsm8k", "exact_match"), ("truthfulqa_gen", "bleu_max"))  # fmt: skip


def _leaderboard(path: Path) -> list[LeaderboardRow]:
    rows = []
    for m, model in enumerate(MODELS):
        for run in range(2):
            run_id = f"2026120{run + 1}-10{m}000-{m:02d}{run}abc"  # ids that differ only in their last 6 chars
            for t, (task, metric) in enumerate(TASKS):
                score = round(0.1 + 0.01 * (m * 20 + run * 7 + t), 4)
                rows.append(LeaderboardRow(model, "", "fp", task, "d", "s", metric, score, 0.01, 100,
                                           f"2026-12-0{run + 1}T10:0{m}:00+00:00", run_id, ""))  # fmt: skip
    append_rows(rows, path)
    return rows


def test_show_fits_80_columns_without_cutting_names(cli: Cli) -> None:
    rows = _leaderboard(cli.work / "lb.csv")
    done = cli("leaderboard", "show", "-l", "lb.csv")
    assert done.code == 0, done.err
    lines = done.out.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    for model in ("smollm2-135m", "gemma3-270m"):
        assert any(model in line for line in lines), model
    for model, tail in ((MODELS[0], "…/SmolLM2-135M-Instruct"), (MODELS[3], "…/merged")):
        assert f"│ {tail} " in done.out and f"{tail} = {model}" in done.out  # a unique tail, spelled out below
    for row in rows:
        assert row.run_id[-6:] in done.out and row.run_id not in done.out  # a unique suffix, not the full id
        assert f"{row.score:.4f}" in done.out, row  # every score is shown (in one of the parts)
    for task, metric in TASKS:
        assert task in done.out and metric in done.out


def test_long_and_history_fit_80_columns(cli: Cli) -> None:
    _leaderboard(cli.work / "lb.csv")
    for args in (("show", "--long"), ("history", "gemma3-270m")):
        done = cli("leaderboard", *args, "-l", "lb.csv")
        assert done.code == 0, done.err
        assert max(len(line) for line in done.out.splitlines()) <= 80
        assert "truthfulqa_gen" in done.out and "exact_match" in done.out


def test_wide_and_json_give_everything(cli: Cli) -> None:
    rows = _leaderboard(cli.work / "lb.csv")
    wide = cli("leaderboard", "show", "-l", "lb.csv", "--wide")
    assert wide.code == 0 and "…" not in wide.out
    for row in rows:
        assert row.run_id in wide.out and row.model in wide.out
    assert wide.out.count("┏") == 1  # one table
    table = json.loads(cli("leaderboard", "show", "-l", "lb.csv", "--json").out)
    assert {(r["model"], r["run_id"]) for r in table} == {(r.model, r.run_id) for r in rows}
    assert all(len(r["scores"]) == len(TASKS) for r in table)


def test_other_tables_fold_instead_of_cutting(cli: Cli) -> None:
    """Every table printed through the CLI's console folds a long cell (here `assay tasks`' dataset column)."""
    done = cli("tasks", "mmlu_high_school_*")
    assert done.code == 0, done.err
    assert max(len(line) for line in done.out.splitlines()) <= 80 and "…" not in done.out
    assert "mmlu_high_school_european_history" in done.out  # the name column is never wrapped
