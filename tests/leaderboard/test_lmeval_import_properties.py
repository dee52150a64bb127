"""An lm-eval results file is text assay does not control: importing it gives rows or one DataError, never more.

Property tests: arbitrary bytes, hostile text and JSON values of every type in each field assay reads (numbers
past a float's range and the integer-digit limit, NaN, nesting past the recursion limit, a group containing
itself), built from the real fixture lm-eval 0.4.13 wrote.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.errors import DataError
from assay.leaderboard.lmeval_import import read_lmeval_file, rows_from_lmeval
from tests.hostile import BOUNDED, hostile_bytes, hostile_text

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "lm_eval_results_tiny_group.json").read_text())

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), hostile_text,
              st.integers(min_value=300, max_value=400).map(lambda n: 10**n)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8,
)  # fmt: skip
PATHS = [("date",), ("config",), ("config", "model_args"), ("configs",), ("n-samples",), ("group_subtasks",),
         ("results",), ("results", "tiny_group"), ("results", "tiny_group", "acc,none"),
         ("results", "tiny_group", "acc_stderr,none"), ("results", "tiny_group", "sample_len"),
         ("n-samples", "tiny_a"), ("group_subtasks", "tiny_group"), ("configs", "tiny_a")]  # fmt: skip


def _rows_or_data_error(data: Any) -> None:
    try:
        rows = rows_from_lmeval(data, source="results.json") if isinstance(data, dict) else None
    except DataError as exc:
        assert "\n" not in exc.message
        return
    for row in rows or []:
        assert math.isfinite(row.score) and (row.stderr is None or math.isfinite(row.stderr)) and row.n >= 0
        row.as_csv_row()


@BOUNDED
@given(st.sampled_from(PATHS), json_values)
def test_any_value_in_any_field_gives_rows_or_a_data_error(path: tuple[str, ...], value: Any) -> None:
    data = copy.deepcopy(FIXTURE)
    holder = data
    for key in path[:-1]:
        holder = holder.setdefault(key, {}) if isinstance(holder.get(key), dict) else holder.setdefault(key, {})
        if not isinstance(holder, dict):
            return
    holder[path[-1]] = value
    _rows_or_data_error(data)


@BOUNDED
@given(hostile_bytes)
def test_any_file_content_gives_rows_or_a_data_error(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("lmeval") / "results.json"
    path.write_bytes(content)
    try:
        read_lmeval_file(path)
    except DataError as exc:
        assert str(path) in exc.message and "\n" not in exc.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"results": {"t": {"acc,none": 1' + "0" * 5000 + "}}}", "unreadable JSON (Exceeds the limit"),
        ("[" * 100_000 + "]" * 100_000, "unreadable JSON (nested too deeply)"),
        (b"\xff\xfe{}".decode("latin-1"), "not UTF-8"),
    ],
)
def test_files_that_crashed_the_import_are_one_data_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "results.json"
    path.write_bytes(text.encode("latin-1") if message == "not UTF-8" else text.encode())
    with pytest.raises(DataError) as info:
        read_lmeval_file(path)
    assert message in info.value.message and str(path) in info.value.message


def test_hostile_numbers_are_left_out_and_a_group_containing_itself_ends() -> None:
    data = copy.deepcopy(FIXTURE)
    data["results"]["tiny_group"]["acc_stderr,none"] = 10**400  # was OverflowError
    data["results"]["tiny_group"]["acc_norm,none"] = float("inf")
    data["date"] = 1e300  # was OverflowError
    data["group_subtasks"]["tiny_group"] = ["tiny_group"]  # was RecursionError
    data["results"]["tiny_group"].pop("sample_len", None)
    data.pop("n-samples", None)
    rows = {(r.benchmark, r.metric): r for r in rows_from_lmeval(data)}
    assert rows[("tiny_group", "acc")].stderr is None and ("tiny_group", "acc_norm") not in rows
    assert rows[("tiny_group", "acc")].eval_date == "1e+300" and rows[("tiny_group", "acc")].n == 0
