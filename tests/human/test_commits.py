"""Group commit: writes queued during a commit share the next one, each keeping its own result or error."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.human.commits import GroupCommit
from assay.human.storage import Store


def connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY)")
    return conn


def rows(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT k FROM t"))


def insert_all(path: Path, group: GroupCommit, keys: list[str]) -> dict[str, object]:
    """Insert each key from its own thread; the first holds its commit open until the others are queued."""
    connect(path).close()
    first_running, release = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def writer(key: str) -> None:
        def work(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO t VALUES (?)", (key,))
            if key == keys[0]:
                first_running.set()
                assert release.wait(10)
            if key.startswith("bad"):
                raise UsageError(f"{key} refused")
            return key.upper()

        try:
            results[key] = group.run(connect(path), work)
        except Exception as exc:  # noqa: BLE001 - compared by the caller
            results[key] = exc

    threads = [threading.Thread(target=writer, args=(key,)) for key in keys]
    threads[0].start()
    assert first_running.wait(10)
    for t in threads[1:]:
        t.start()
    deadline = time.monotonic() + 10
    while group.queued < len(keys) - 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert group.queued == len(keys) - 1 and rows(path) == []  # they wait; nothing shows before a commit
    release.set()
    for t in threads:
        t.join(10)
    return results


def test_writes_queued_during_a_commit_share_the_next_one(tmp_path: Path) -> None:
    group = GroupCommit()
    results = insert_all(tmp_path / "g.sqlite", group, ["first", "a", "b", "c"])
    assert results == {"first": "FIRST", "a": "A", "b": "B", "c": "C"}
    assert rows(tmp_path / "g.sqlite") == ["a", "b", "c", "first"]
    assert group.commits == 2  # the three queued writes were committed together


def test_a_failing_piece_rolls_back_alone(tmp_path: Path) -> None:
    group = GroupCommit()
    results = insert_all(tmp_path / "g.sqlite", group, ["first", "a", "bad", "b"])
    assert {k: str(v) for k, v in results.items()} == {"first": "FIRST", "a": "A", "bad": "bad refused", "b": "B"}
    assert isinstance(results["bad"], UsageError)
    assert rows(tmp_path / "g.sqlite") == ["a", "b", "first"]  # 'bad' inserted its row, then was rolled back
    assert group.commits == 2


def test_a_failed_commit_fails_every_writer_and_stores_nothing(tmp_path: Path) -> None:
    path, group = tmp_path / "g.sqlite", GroupCommit()
    other = connect(path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock past our busy timeout
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        group.run(connect(path, timeout=0.05), lambda conn: conn.execute("INSERT INTO t VALUES ('x')"))
    other.execute("ROLLBACK")
    assert rows(path) == []
    assert group.run(connect(path), lambda conn: conn.execute("INSERT INTO t VALUES ('y')").rowcount) == 1
    assert rows(path) == ["y"]


def test_concurrent_ratings_are_all_stored(pairwise_store: Store) -> None:
    threads = [
        threading.Thread(target=pairwise_store.save_rating, args=(name, f"p{i}"), kwargs={"choice": "tie"})
        for i in range(4)
        for name in ("ann", "bob")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    stored = sorted((r.annotator, r.item_id, r.winner) for r in pairwise_store.ratings())
    assert stored == sorted((name, f"p{i}", "tie") for i in range(4) for name in ("ann", "bob"))
