"""Leaderboard views: filtering, latest, wide pivot, sorting, history, on a real CSV written by the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.leaderboard import views
from assay.leaderboard.store import LeaderboardRow, append_rows, read_rows


def row(model: str, task: str, score: float, date: str, run: str, metric: str = "acc") -> LeaderboardRow:
    return LeaderboardRow(
        model=model,
        model_version="",
        model_fingerprint="fp",
        benchmark=task,
        dataset="d",
        dataset_sha256="",
        metric=metric,
        score=score,
        stderr=0.01,
        n=100,
        eval_date=date,
        run_id=run,
        git_sha="",
    )


@pytest.fixture()
def rows(tmp_path: Path) -> list[LeaderboardRow]:
    path = tmp_path / "lb.csv"
    append_rows(
        [
            row("alpha", "arc_easy", 0.50, "2026-01-01T00:00:00", "r1"),
            row("alpha", "arc_easy", 0.45, "2026-01-01T00:00:00", "r1", metric="acc_norm"),
            row("alpha", "hellaswag", 0.30, "2026-01-01T00:00:00", "r1"),
            row("beta", "arc_easy", 0.70, "2026-01-02T00:00:00", "r2"),
            row("beta", "hellaswag", 0.20, "2026-01-02T00:00:00", "r2"),
            row("alpha", "arc_easy", 0.60, "2026-01-03T00:00:00", "r3"),
        ],
        path,
    )
    got, problems = read_rows(path)
    assert problems == []
    return got


def test_latest_keeps_newest_per_model_task_metric(rows: list[LeaderboardRow]) -> None:
    kept = {(r.model, r.benchmark, r.metric): r.score for r in views.latest(rows)}
    assert kept == {
        ("alpha", "arc_easy", "acc"): 0.60,
        ("alpha", "arc_easy", "acc_norm"): 0.45,
        ("alpha", "hellaswag", "acc"): 0.30,
        ("beta", "arc_easy", "acc"): 0.70,
        ("beta", "hellaswag", "acc"): 0.20,
    }


def test_wide_latest_one_row_per_model_and_sort(rows: list[LeaderboardRow]) -> None:
    table = views.wide(rows, by_run=False)
    assert table.columns == ("arc_easy", "hellaswag")  # acc is the primary metric, acc_norm not shown
    by_model = {r.model: (r.score("arc_easy"), r.score("hellaswag")) for r in table.rows}
    assert by_model == {"alpha": (0.60, 0.30), "beta": (0.70, 0.20)}
    assert [r.model for r in views.sort_wide(table, "hellaswag", desc=True).rows] == ["alpha", "beta"]
    assert [r.model for r in views.sort_wide(table, "arc_easy", desc=True).rows] == ["beta", "alpha"]
    assert [r.model for r in views.sort_wide(table, "model", desc=True).rows] == ["beta", "alpha"]
    # default: mean, best first (alpha 0.45, beta 0.45 -> tie keeps input order; check values instead)
    means = [table.mean(r, "acc") for r in views.sort_wide(table, None).rows]
    assert means == sorted(means, reverse=True)


def test_means_never_mix_metrics() -> None:
    rows = [
        row("a", "arc_easy", 0.8, "2026-11-01", "r1"), row("a", "humaneval", 0.1, "2026-11-01", "r1", "pass@1"),
        row("b", "arc_easy", 0.4, "2026-11-01", "r2"), row("b", "humaneval", 0.9, "2026-11-01", "r2", "pass@1"),
        row("b", "piqa", 0.6, "2026-11-01", "r2"), row("b", "mbpp", 0.7, "2026-11-01", "r2", "pass@1"),
        row("a", "gsm8k", 0.2, "2026-11-01", "r1", "exact_match"),
    ]  # fmt: skip
    table = views.wide(rows, by_run=False)
    assert table.metrics == ("acc", "pass@1")  # exact_match has one column: no mean of its own
    a, b = (next(r for r in table.rows if r.model == m) for m in "ab")
    assert (table.mean(b, "acc"), table.mean(b, "pass@1")) == (0.5, 0.8)  # not (0.4 + 0.9 + 0.6 + 0.7) / 4
    # a has neither piqa nor mbpp: no mean (its 0.8 over 1 task is not ranked above b's 0.5 over 2)
    assert (table.mean(a, "acc"), table.mean(a, "pass@1")) == (None, None)
    assert [r.model for r in views.sort_wide(table, None).rows] == ["b", "a"]
    assert [r.model for r in views.sort_wide(table, "mean pass@1", desc=True).rows] == ["b", "a"]
    assert [r.model for r in views.sort_wide(table, "score", desc=True).rows] == ["b", "a"]


def test_wide_by_run_keeps_each_run(rows: list[LeaderboardRow]) -> None:
    table = views.wide(rows, by_run=True)
    assert sorted((r.model, r.run_id) for r in table.rows) == [
        ("alpha", "r1"),
        ("alpha", "r3"),
        ("beta", "r2"),
    ]
    r3 = next(r for r in table.rows if r.run_id == "r3")
    assert r3.score("hellaswag") is None and r3.score("arc_easy") == 0.60
    # a missing cell sorts last whichever the direction
    assert views.sort_wide(table, "hellaswag").rows[-1].run_id == "r3"
    assert views.sort_wide(table, "hellaswag", desc=True).rows[-1].run_id == "r3"


def test_wide_with_several_metrics_names_columns_by_metric(rows: list[LeaderboardRow]) -> None:
    table = views.wide(views.filter_rows(rows, tasks=["arc_easy"]), metrics=["acc,acc_norm"], by_run=False)
    assert table.columns == ("arc_easy/acc", "arc_easy/acc_norm")


def test_filters_and_unknown_names(rows: list[LeaderboardRow]) -> None:
    assert {r.benchmark for r in views.filter_rows(rows, tasks=["hellaswag"])} == {"hellaswag"}
    with pytest.raises(UsageError) as err:
        views.filter_rows(rows, tasks=["hellaswg"])
    assert err.value.hint is not None and "hellaswag" in err.value.hint
    with pytest.raises(UsageError):
        views.sort_wide(views.wide(rows), "arc_eazy")
    with pytest.raises(UsageError):
        views.sort_long(rows, "scroe")


def test_history_is_chronological(rows: list[LeaderboardRow]) -> None:
    got = [(r.run_id, r.benchmark, r.metric) for r in views.history(rows, "alpha")]
    assert got == [
        ("r1", "arc_easy", "acc"),
        ("r1", "arc_easy", "acc_norm"),
        ("r1", "hellaswag", "acc"),
        ("r3", "arc_easy", "acc"),
    ]
    with pytest.raises(UsageError) as err:
        views.history(rows, "alpah")
    assert "alpha" in (err.value.hint or "")


def test_sort_long_numeric(rows: list[LeaderboardRow]) -> None:
    scores = [r.score for r in views.sort_long(rows, "score", desc=True)]
    assert scores == sorted(scores, reverse=True)


def test_collapse_subtasks_keeps_groups_and_lone_tasks() -> None:
    rows = [
        row("m", "mmlu", 0.4, "d", "r"),
        row("m", "mmlu_anatomy", 0.3, "d", "r"),
        row("m", "mmlu_college_physics", 0.5, "d", "r"),
        row("m", "arc_easy", 0.6, "d", "r"),
        row("other", "mmlu_anatomy", 0.2, "d", "r2"),  # no mmlu row for this model: kept
    ]
    kept, hidden = views.collapse_subtasks(rows)
    assert [(r.model, r.benchmark) for r in kept] == [
        ("m", "mmlu"),
        ("m", "arc_easy"),
        ("other", "mmlu_anatomy"),
    ]
    assert hidden == ["mmlu_anatomy", "mmlu_college_physics"]
