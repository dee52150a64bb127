"""Export rows: sides resolved to model names; the file is written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.human.blinding import is_swapped
from assay.human.export import export_rows, write_jsonl
from assay.human.storage import Store


def test_single_rows(single_store: Store) -> None:
    single_store.save_rating("bob", "q1", score=2, comment="unsafe")
    single_store.save_rating("alice", "q1", score=4)
    single_store.save_rating("alice", "q0", score=9)
    rows = export_rows(single_store)
    assert [(r["item_id"], r["annotator"], r["model"], r["score"], r["comment"]) for r in rows] == [
        ("q0", "alice", "model-y", 9, ""),
        ("q1", "alice", "model-x", 4, ""),
        ("q1", "bob", "model-x", 2, "unsafe"),
    ]
    assert all(r["mode"] == "single" and r["created_at"] for r in rows)


def test_pairwise_rows_name_the_winning_model(pairwise_store: Store) -> None:
    # pick items whose left side is model_b for alice and model_a for bob, so sides matter
    item = next(i for i in pairwise_store.items if is_swapped("alice", i) and not is_swapped("bob", i))
    pairwise_store.save_rating("alice", item, choice="A")  # left = model-b
    pairwise_store.save_rating("bob", item, choice="A")  # left = model-a
    pairwise_store.save_rating("carol", item, choice="tie")
    rows = {r["annotator"]: r for r in export_rows(pairwise_store)}
    assert (rows["alice"]["swapped"], rows["alice"]["winner"], rows["alice"]["winner_model"]) == (
        True,
        "b",
        "model-b",
    )
    assert (rows["bob"]["swapped"], rows["bob"]["winner"], rows["bob"]["winner_model"]) == (
        False,
        "a",
        "model-a",
    )
    assert (rows["carol"]["winner"], rows["carol"]["winner_model"]) == ("tie", None)
    assert rows["bob"]["model_a"] == "model-a" and rows["bob"]["model_b"] == "model-b"


def test_write_jsonl_replaces_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old content\n")
    write_jsonl([{"a": 1}, {"b": "é"}], out)
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == [
        {"a": 1},
        {"b": "é"},
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]  # no temporary file left
    with pytest.raises(UsageError, match="does not exist"):
        write_jsonl([], tmp_path / "nope" / "out.jsonl")
    with pytest.raises(UsageError, match="is a folder"):
        write_jsonl([], tmp_path)
