"""The SQLite store: ratings committed one by one, resume, side resolution, refusal of inconsistent input."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assay.errors import DataError, UsageError
from assay.human.blinding import is_swapped
from assay.human.items import load_items
from assay.human.storage import Store, resolve_choice

from .helpers import pairwise_rows, single_rows, write_jsonl


def test_rating_is_committed_and_visible_to_a_fresh_connection(single_store: Store) -> None:
    single_store.add_annotator("alice")
    single_store.save_rating("alice", "q2", score=8, comment="  fine  ")
    # a separate, raw connection sees the row: nothing waits in an open transaction
    with sqlite3.connect(single_store.path) as conn:
        rows = conn.execute("SELECT annotator, item_id, score, comment, winner FROM ratings").fetchall()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    assert rows == [("alice", "q2", 8, "fine", None)]
    assert mode == "wal"


def test_next_item_follows_the_annotator_order_and_resumes(single_store: Store) -> None:
    order = single_store.order("alice")
    assert sorted(order) == ["q0", "q1", "q2", "q3"]
    item, done = single_store.next_item("alice")
    assert (item.item_id if item else None, done) == (order[0], 0)
    single_store.save_rating("alice", order[0], score=5)
    single_store.save_rating("alice", order[1], score=6)
    reopened = Store.open(single_store.path)  # as after a restart
    item, done = reopened.next_item("alice")
    assert (item.item_id if item else None, done) == (order[2], 2)
    assert reopened.next_item("bob")[1] == 0  # others are unaffected
    for item_id in order[2:]:
        reopened.save_rating("alice", item_id, score=1)
    assert reopened.next_item("alice") == (None, 4)


def test_a_second_rating_replaces_the_first(single_store: Store) -> None:
    first = single_store.save_rating("alice", "q0", score=3)
    second = single_store.save_rating("alice", "q0", score=9, comment="changed my mind")
    assert second.created_at == first.created_at
    [rating] = single_store.ratings()
    assert (rating.score, rating.comment, rating.created_at) == (9, "changed my mind", first.created_at)
    assert rating.updated_at >= rating.created_at


@pytest.mark.parametrize(("score", "choice"), [(None, None), (0, None), (11, None), (5, "A")])
def test_single_mode_rejects_bad_ratings(single_store: Store, score: int | None, choice: str | None) -> None:
    with pytest.raises(UsageError, match="score from 1 to 10"):
        single_store.save_rating("alice", "q0", score=score, choice=choice)
    assert single_store.ratings() == []


def test_unknown_item_is_rejected(single_store: Store) -> None:
    with pytest.raises(UsageError, match="unknown item 'nope'"):
        single_store.save_rating("alice", "nope", score=5)


def test_resolve_choice_table() -> None:
    assert [resolve_choice(c, False) for c in ("A", "B", "tie")] == ["a", "b", "tie"]
    assert [resolve_choice(c, True) for c in ("A", "B", "tie")] == ["b", "a", "tie"]


def test_pairwise_rating_stores_the_side_mapping(pairwise_store: Store) -> None:
    for item_id in pairwise_store.items:
        pairwise_store.save_rating("alice", item_id, choice="A")
    ratings = pairwise_store.ratings()
    assert [r.swapped for r in ratings] == [is_swapped("alice", i) for i in pairwise_store.items]
    assert {r.swapped for r in ratings} == {True, False}  # this fixture shows both mappings
    for r in ratings:  # "A" is the left side, which is model_b exactly when swapped
        assert r.winner == ("b" if r.swapped else "a")
    with pytest.raises(UsageError, match="choice of A, B or tie"):
        pairwise_store.save_rating("alice", "p0", choice="left")


def test_reopening_with_other_mode_or_changed_item_fails_and_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "r.sqlite"
    rows = single_rows(2)
    Store.create(db, "single", load_items(write_jsonl(tmp_path / "a.jsonl", rows), "single"))
    pairs = load_items(write_jsonl(tmp_path / "p.jsonl", pairwise_rows(1)), "pairwise")
    with pytest.raises(UsageError, match="holds single ratings, not pairwise"):
        Store.create(db, "pairwise", pairs)
    # a new item plus a changed one: the whole import is refused, the new item is not half-added
    changed = [*rows, {"item_id": "new", "prompt": "p", "response": "r", "model": "m"}]
    changed[0] = changed[0] | {"response": "edited"}
    with pytest.raises(DataError, match="item 'q0' differs from the one already stored"):
        Store.create(db, "single", load_items(write_jsonl(tmp_path / "b.jsonl", changed), "single"))
    assert list(Store.open(db).items) == ["q0", "q1"]
    # adding only new items is fine and keeps file order
    grown = Store.create(db, "single", load_items(write_jsonl(tmp_path / "c.jsonl", changed[1:]), "single"))
    assert list(grown.items) == ["q0", "q1", "new"]


def test_open_refuses_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        Store.open(tmp_path / "none.sqlite")
    (tmp_path / "text.sqlite").write_text("hello, not a database\n" * 10)
    with pytest.raises(DataError, match="not a SQLite database|cannot use"):
        Store.open(tmp_path / "text.sqlite")
    sqlite3.connect(tmp_path / "other.sqlite").execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(DataError, match="not an assay ratings database"):
        Store.open(tmp_path / "other.sqlite")
