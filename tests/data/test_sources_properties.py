"""A user's data file is text assay does not control: reading one gives rows or one DataError naming the file.

Property tests over the JSONL, CSV and YAML readers with arbitrary bytes and hostile text (tests/hostile.py),
and the inputs that escaped as other exceptions before: an integer past Python's digit limit (ValueError),
nesting past the recursion limit (RecursionError), a CSV field longer than csv's default limit (csv.Error),
a CSV file that is not UTF-8 (UnicodeDecodeError).
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.data.sources import read_file, read_yaml
from assay.errors import DataError
from tests.hostile import BOUNDED, hostile, hostile_bytes

_names = itertools.count()
TEMPLATES = ['{"question": {}}', '{"a": "{}"}\n{"b": 1}', "question,answer\n{},1\n", "- name: {}\n  task: x"]


def _read(folder: Path, suffix: str, content: bytes) -> None:
    path = folder / f"f{next(_names)}{suffix}"  # a new name each time: read_file caches by path and stamp
    path.write_bytes(content)
    reader = read_yaml if suffix == ".yaml" else read_file
    try:
        rows = reader(path)
    except DataError as exc:
        assert str(path) in exc.message and "\n" not in exc.message
        return
    if suffix != ".yaml":
        assert all(isinstance(row, dict) for row in rows)


@BOUNDED
@given(st.one_of(hostile_bytes, hostile(TEMPLATES).map(lambda t: t.encode("utf-8", "surrogateescape"))),
       st.sampled_from([".jsonl", ".csv", ".yaml"]))  # fmt: skip
def test_any_file_gives_rows_or_one_data_error(tmp_path_factory: pytest.TempPathFactory, content: bytes,
                                               suffix: str) -> None:  # fmt: skip
    _read(tmp_path_factory.getbasetemp(), suffix, content)


@pytest.mark.parametrize(
    ("suffix", "content", "message"),
    [
        (".jsonl", '{"n": 1' + "0" * 5000 + "}\n", ":1: unreadable JSON (Exceeds the limit (4300 digits)"),
        (".jsonl", '{"n": ' + "[" * 100_000 + "]" * 100_000 + "}\n", ":1: unreadable JSON (nested too deeply)"),
        (".csv", "q,a\n\xff,1\n", "not UTF-8 text"),
        (".yaml", "[" * 10_000 + "]" * 10_000, "not readable as YAML (nested too deeply)"),
        (".yaml", "n: " + "9" * 5000, "not readable as YAML (Exceeds the limit (4300 digits)"),
        (".yaml", "a: [\x00", "not valid YAML"),
    ],
)
def test_what_escaped_the_readers_is_one_data_error(tmp_path: Path, suffix: str, content: str, message: str) -> None:
    path = tmp_path / f"data{suffix}"
    path.write_bytes(content.encode("latin-1") if "\xff" in content else content.encode())
    with pytest.raises(DataError) as info:
        (read_yaml if suffix == ".yaml" else read_file)(path)
    assert message in info.value.message and str(path) in info.value.message


def test_a_csv_field_longer_than_csvs_default_limit_is_data(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text("question,answer\n" + "x" * 200_000 + ",1\n", encoding="utf-8")
    assert read_file(path) == ({"question": "x" * 200_000, "answer": "1"},)
