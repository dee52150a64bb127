"""A data-folder split as lm-eval gets it (lmeval/rows.py): memory-mapped from an Arrow copy in the user cache,
so a task's process_docs map() is answered from datasets' own cache the next time; the same rows whatever
happens to that copy (damaged, or a cache folder that cannot be written)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assay.data.sources import read_jsonl

datasets = pytest.importorskip("datasets")

from assay.lmeval.rows import split_rows  # noqa: E402

MARK = ""  # set per test: a file each call of `_process` appends a line to


def _process(doc: dict[str, Any]) -> dict[str, Any]:
    with open(MARK, "a", encoding="utf-8") as f:
        f.write("x\n")
    return {"query": doc["q"].upper()}


def _split(tmp_path: Path) -> Path:
    file = tmp_path / "data" / "validation.jsonl"
    file.parent.mkdir()
    file.write_text("".join(json.dumps({"q": f"row {i}", "n": i}) + "\n" for i in range(30)), encoding="utf-8")
    return file


def test_second_read_is_memory_mapped_and_map_is_served_from_datasets_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    global MARK
    monkeypatch.setenv("ASSAY_LMEVAL_ROWS_DIR", str(tmp_path / "cache"))
    MARK = str(tmp_path / "calls.txt")
    file = _split(tmp_path)
    first = split_rows(file)
    assert first.to_list() == read_jsonl(file) and first.cache_files  # file-backed from the first read on
    assert first.map(_process)["query"][:2] == ["ROW 0", "ROW 1"]
    calls = Path(MARK).read_text().count("x")
    assert calls == 30
    again = split_rows(file).map(_process)
    assert again["query"] == [f"ROW {i}" for i in range(30)]
    assert Path(MARK).read_text().count("x") == calls  # served from the map cache: not one call more

    file.write_text(file.read_text() + json.dumps({"q": "new", "n": 30}) + "\n", encoding="utf-8")
    assert len(split_rows(file)) == 31  # an edited file is a new copy


def test_a_damaged_copy_is_made_again_and_an_unwritable_cache_keeps_rows_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_LMEVAL_ROWS_DIR", str(tmp_path / "cache"))
    file = _split(tmp_path)
    split_rows(file)
    [arrow] = (tmp_path / "cache").glob("*/data-*.arrow")
    arrow.write_bytes(arrow.read_bytes()[:100])  # truncated
    assert split_rows(file).to_list() == read_jsonl(file)

    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("ASSAY_LMEVAL_ROWS_DIR", str(blocker / "cache"))  # mkdir under a file fails
    rows = split_rows(file)
    assert rows.to_list() == read_jsonl(file) and not rows.cache_files
