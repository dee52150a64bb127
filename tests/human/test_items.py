"""ITEMS.jsonl validation: good files load, each kind of bad row is named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import DataError, UsageError
from assay.human.items import Item, check_mode, load_items

from .helpers import pairwise_rows, single_rows, write_jsonl


def test_single_and_pairwise_files_load(tmp_path: Path) -> None:
    single = load_items(write_jsonl(tmp_path / "s.jsonl", single_rows(3)), "single")
    assert [i.item_id for i in single] == ["q0", "q1", "q2"]
    assert single[0] == Item(item_id="q0", prompt="Question 0?", response="Answer number 0.", model="model-y")
    pairs = load_items(write_jsonl(tmp_path / "p.jsonl", pairwise_rows(2)), "pairwise")
    assert pairs[1].response_b == "beta answer 1" and pairs[1].model_a == "model-a"
    assert pairs[1].to_json("pairwise") == pairwise_rows(2)[1]


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "s.jsonl", [single_rows(1)[0], "", "{not json"])
    with pytest.raises(DataError, match=r"s\.jsonl:3: malformed JSON"):
        load_items(path, "single")


def test_empty_response_is_allowed(tmp_path: Path) -> None:
    row = single_rows(1)[0] | {"response": ""}
    assert load_items(write_jsonl(tmp_path / "s.jsonl", [row]), "single")[0].response == ""


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "model"}, r":2: missing key\(s\) model for single mode"),
        ({"set": {"reponse": "typo"}}, r":2: unknown key\(s\) reponse for single mode"),
        ({"set": {"response": 7}}, r":2: 'response' must be a string, got int"),
        ({"set": {"prompt": "  "}}, r":2: 'prompt' is empty"),
        ({"set": {"item_id": "x" * 201}}, r":2: item_id is longer than 200"),
        ({"set": {"item_id": "q0"}}, r":2: duplicate item_id 'q0' \(first on line 1\)"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, change: dict, message: str) -> None:
    rows = single_rows(2)
    if "drop" in change:
        del rows[1][change["drop"]]
    rows[1].update(change.get("set", {}))
    with pytest.raises(DataError, match=r"items\.jsonl" + message):
        load_items(write_jsonl(tmp_path / "items.jsonl", rows), "single")


def test_pairwise_row_in_single_mode_hints_the_mode(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", pairwise_rows(1))
    with pytest.raises(DataError) as info:
        load_items(path, "single")
    assert "p.jsonl:1" in info.value.message
    assert info.value.hint == "this looks like a pairwise item: use --mode pairwise"


def test_pairwise_needs_two_different_models(tmp_path: Path) -> None:
    row = pairwise_rows(1)[0] | {"model_b": "model-a"}
    with pytest.raises(DataError, match=r"p\.jsonl:1: model_a and model_b are both 'model-a'"):
        load_items(write_jsonl(tmp_path / "p.jsonl", [row]), "pairwise")


def test_non_object_missing_empty_and_non_utf8_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"a\.jsonl:1: expected a JSON object, got list"):
        load_items(write_jsonl(tmp_path / "a.jsonl", ["[1, 2]"]), "single")
    with pytest.raises(DataError, match="does not exist"):
        load_items(tmp_path / "missing.jsonl", "single")
    with pytest.raises(DataError, match="no items"):
        load_items(write_jsonl(tmp_path / "e.jsonl", [""]), "single")
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe{}")
    with pytest.raises(DataError, match="not UTF-8"):
        load_items(tmp_path / "bin.jsonl", "single")


def test_unknown_mode() -> None:
    assert check_mode("pairwise") == "pairwise"
    with pytest.raises(UsageError, match="unknown mode 'pair'"):
        check_mode("pair")
