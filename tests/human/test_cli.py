"""The `assay human` commands as a user runs them: one-line errors with exit 2, nothing half-written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

from assay.human.items import load_items
from assay.human.storage import Store

from .helpers import pairwise_rows, single_rows, write_jsonl


def assay(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assay.cli.main", "human", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.splitlines()[0]


def test_serve_rejects_a_bad_items_file_before_creating_the_db(tmp_path: Path) -> None:
    rows = [*single_rows(2), {"item_id": "q9", "prompt": "p", "response": 3, "model": "m"}]
    items = write_jsonl(tmp_path / "items.jsonl", rows)
    result = assay("serve", items, "--db", tmp_path / "r.sqlite")
    assert error_line(result) == f"error: {items}:3: 'response' must be a string, got int"
    assert not (tmp_path / "r.sqlite").exists()


def test_serve_mode_errors(tmp_path: Path) -> None:
    pairs = write_jsonl(tmp_path / "pairs.jsonl", pairwise_rows(1))
    result = assay("serve", pairs, "--db", tmp_path / "r.sqlite")  # default mode is single
    assert error_line(result).startswith(f"error: {pairs}:1: missing key(s) response, model for single mode")
    assert "hint: this looks like a pairwise item: use --mode pairwise" in result.stderr
    assert error_line(assay("serve", pairs, "--db", tmp_path / "r.sqlite", "--mode", "duel")) == (
        "error: unknown mode 'duel'"
    )
    assert not (tmp_path / "r.sqlite").exists()


def test_serve_on_a_busy_port(tmp_path: Path) -> None:
    items = write_jsonl(tmp_path / "items.jsonl", single_rows(2))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = assay("serve", items, "--db", tmp_path / "r.sqlite", "--port", str(port))
    assert error_line(result) == f"error: port {port} on 127.0.0.1 is already in use"
    assert not (tmp_path / "r.sqlite").exists()


def test_export_command(tmp_path: Path) -> None:
    missing = assay("export", "--db", tmp_path / "none.sqlite", "--output", tmp_path / "out.jsonl")
    assert error_line(missing) == f"error: ratings database {tmp_path / 'none.sqlite'} does not exist"
    db = tmp_path / "r.sqlite"
    store = Store.create(
        db, "single", load_items(write_jsonl(tmp_path / "i.jsonl", single_rows(3)), "single")
    )
    store.save_rating("alice", "q2", score=6)
    store.save_rating("bob", "q2", score=8)
    out = tmp_path / "out.jsonl"
    result = assay("export", "--db", db, "--output", out)
    assert result.returncode == 0, result.stderr
    assert "wrote 2 ratings" in result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["annotator"], r["item_id"], r["score"]) for r in rows] == [
        ("alice", "q2", 6),
        ("bob", "q2", 8),
    ]
