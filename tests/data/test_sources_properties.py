"""A user's data file is text assay does not control: reading one gives rows or one DataError naming the file.

Property tests over the JSONL, CSV and YAML readers with arbitrary bytes and hostile text (tests/hostile.py),
and the inputs that escaped as other exceptions before: an integer past Python's digit limit (ValueError),
nesting past the recursion limit (RecursionError), a CSV field longer than csv's default limit (csv.Error),
a CSV file that is not UTF-8 (UnicodeDecodeError). A task YAML file goes through the same reader: loading one
gives task specs or one ConfigError line naming the file, and the CLI exits 2 with that line.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.cli.main import main
from assay.data.sources import read_file, read_yaml
from assay.errors import ConfigError, DataError
from assay.tasks.spec import TaskSpec, load_task_file
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
        (".yaml", "a: &x [1, *x]", "not readable as YAML (nested too deeply)"),
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


TASK = "name: t\ndataset: {data_files: rows.jsonl, split: test}\noutput_type: generate\ndoc_to_text: q\n"
TASK_TEMPLATES = [TASK + "num_fewshot: {}\n", TASK + "metadata: {x: {}}\n", TASK + "doc_to_target: {}\n", "{}"]


@BOUNDED
@given(st.one_of(hostile_bytes, hostile(TASK_TEMPLATES).map(lambda t: t.encode("utf-8", "surrogateescape"))))
def test_any_task_file_gives_specs_or_one_config_error(
    tmp_path_factory: pytest.TempPathFactory, content: bytes
) -> None:
    path = tmp_path_factory.getbasetemp() / f"task{next(_names)}.yaml"
    path.write_bytes(content)
    try:
        specs = load_task_file(path)
    except ConfigError as exc:
        assert str(path) in exc.message and "\n" not in exc.message
        return
    assert all(isinstance(spec, TaskSpec) for spec in specs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 10_000 + "]" * 10_000, "not readable as YAML (nested too deeply)"),
        (TASK + "metadata: {x: " + "[" * 800 + "]" * 800 + "}\n", "not readable as YAML (nested too deeply)"),
        (TASK + "num_fewshot: " + "9" * 5000 + "\n", "not readable as YAML (Exceeds the limit (4300 digits)"),
        (TASK + "metadata: {x: " + "9" * 5000 + "}\n", "not readable as YAML (Exceeds the limit (4300 digits)"),
        (TASK + "metadata: {x: " + "[" * 201 + "]" * 201 + "}\n", "not readable as YAML (nested too deeply)"),
        (TASK + "metadata: {x: &a [1, *a]}\n", "not readable as YAML (nested too deeply)"),  # contains itself
        ("name: t\n  bad: [\n", "not valid YAML (mapping values are not allowed"),
    ],
)
def test_what_escaped_the_task_loader_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "task.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_task_file(path)
    assert info.value.message.startswith(f"{path}: {message}") and "\n" not in info.value.message
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as done:
        main(["tasks", "--include", str(path)])
    lines = capsys.readouterr().err.splitlines()
    assert done.value.code == 2
    assert lines[0].startswith(f"error: {path}: {message}") and [line[:6] for line in lines[1:]] in ([], ["hint: "])
