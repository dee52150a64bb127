"""Fixtures for the human evaluation tests: stores built from small items files."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.human.items import load_items
from assay.human.storage import Store

from .helpers import pairwise_rows, single_rows, write_jsonl


@pytest.fixture
def single_store(tmp_path: Path) -> Store:
    items = load_items(write_jsonl(tmp_path / "items.jsonl", single_rows()), "single")
    return Store.create(tmp_path / "ratings.sqlite", "single", items)


@pytest.fixture
def pairwise_store(tmp_path: Path) -> Store:
    items = load_items(write_jsonl(tmp_path / "pairs.jsonl", pairwise_rows()), "pairwise")
    return Store.create(tmp_path / "pairs.sqlite", "pairwise", items)
