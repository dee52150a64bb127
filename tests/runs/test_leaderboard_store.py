"""The leaderboard file: concurrent appends lose nothing; torn and foreign rows are reported."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pytest

from assay.errors import DataError
from assay.leaderboard.store import COLUMNS, LeaderboardRow, append_rows, read_rows


def _row(model: str, i: int) -> LeaderboardRow:
    return LeaderboardRow(
        model=model, model_version="v1", model_fingerprint="sha256:abc", benchmark="arc_easy",
        dataset="allenai/ai2_arc/ARC-Easy/test", dataset_sha256="f" * 64, metric="acc", score=i / 100,
        stderr=0.01, n=100, eval_date="2026-11-23T00:00:00+00:00", run_id=f"run-{model}-{i}", git_sha="",
    )  # fmt: skip


def _writer(path: str, worker: int) -> None:
    for i in range(50):  # one append per row: the worst case for interleaving
        append_rows([_row(f"w{worker}", i)], Path(path))


def test_eight_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data" / "leaderboard.csv"
    procs = [mp.get_context("fork").Process(target=_writer, args=(str(path), w)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows, problems = read_rows(path)
    assert problems == []
    assert len(rows) == 400
    assert {(r.model, r.run_id) for r in rows} == {
        (f"w{w}", f"run-w{w}-{i}") for w in range(8) for i in range(50)
    }
    assert path.read_text().count(",".join(COLUMNS)) == 1  # one header


def test_torn_and_foreign_rows_are_reported_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "lb.csv"
    append_rows([_row("a", 1)], path)
    with path.open("a") as fh:
        fh.write("a,b,c\n")  # foreign
        fh.write("m,v,fp,arc,ds,sha,acc,not-a-number,,10,d,r,g\n")  # bad value
        fh.write("m,v,fp,arc,ds,sha,acc,0.5,0.1,1")  # torn: no newline, too few fields
    append_rows([_row("b", 2)], path)  # must not glue onto the torn line
    rows, problems = read_rows(path)
    assert [r.model for r in rows] == ["a", "b"]
    assert [p.line for p in problems] == [3, 4, 5]
    assert "expected 13" in problems[0].reason and "bad value" in problems[1].reason


def test_foreign_header_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "lb.csv"
    path.write_text("x,y\n1,2\n")
    with pytest.raises(DataError, match="header"):
        read_rows(path)
