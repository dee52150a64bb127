"""`assay score`: input formats, bad input (file and line named, exit 2, nothing written), the run folder,
results.jsonl and the leaderboard rows, and `assay compare` on two scoring sessions."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.cli.score import read_candidates, score
from assay.errors import DataError, UsageError
from assay.leaderboard.store import read_rows
from assay.metrics import get_metric
from assay.runs.folder import open_run
from assay.stats import compare_runs
from tests.tracking.runfolders import read_jsonl

REF = "def add(a, b):\n    return a + b"
ADD_OUTPUTS = [
    "def add(x, y):\n    '''''Sum.'''''\n    return x + y",  # equal up to names and docstring
    "def add(a, b):\n    return a - b",  # one operator away
    "def add(a, b) return",  # not Python
]
ROWS = [
    {"id": "add", "prompt": "Write add.", "reference": REF, "outputs": ADD_OUTPUTS},
    {"id": "capital", "reference": ["Paris", "Paris, France"], "outputs": ["Paris", "paris.", "Lyon"]},
]


def _write(path: Path, rows: list[dict] | list[str]) -> Path:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _score(
    path: Path, out: Path, lb: Path, metrics: str = "exact_match,edit_distance,ast", **kw: object
) -> None:
    args = {"model": None, "output": out, "leaderboard": lb, "no_leaderboard": False, **kw}
    score(path, metrics=metrics, **args)  # type: ignore[arg-type]


def test_input_formats_name_models(tmp_path: Path) -> None:
    path = _write(tmp_path / "mixed.jsonl", [
        {"id": "a", "reference": "x", "outputs": ["x", "y"]},
        {"id": "b", "reference": "x", "outputs": {"m1": "x", "m2": "z"}},
        {"id": "c", "reference": "x", "output": "x", "model": "m3"},
        {"reference": "x", "output": "q"},
    ])  # fmt: skip
    got = [(c.sample_id, c.model) for c in read_candidates(path)]
    assert got == [
        ("mixed/a", "candidate-1"), ("mixed/a", "candidate-2"), ("mixed/b", "m1"), ("mixed/b", "m2"),
        ("mixed/c", "m3"), ("mixed/line-4", "candidate-1"),
    ]  # fmt: skip
    named = [(c.sample_id, c.model) for c in read_candidates(path, model="mine")]
    assert named[:2] == [
        ("mixed/a", "mine"),
        ("mixed/a#2", "mine"),
    ]  # one model's repeated outputs stay distinct


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"id": "z", "output": "x"}', "'reference'"),
        ('{"id": "z", "reference": "x"}', "exactly one of"),
        ('{"id": "z", "reference": "x", "outputs": [1]}', "must be a string"),
        ('{"id": "z", "reference": "x", "outputs": []}', "at least one"),
        ('{"id": "ok", "reference": "x", "output": "y"}', "duplicate id"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path: Path, line: str, reason: str) -> None:
    path = _write(tmp_path / "bad.jsonl", ['{"id": "ok", "reference": "x", "output": "x"}', "", line])
    with pytest.raises(DataError) as info:
        read_candidates(path)
    assert info.value.message.startswith(f"{path}:3: ") and reason in info.value.message


def test_score_writes_run_results_and_leaderboard(tmp_path: Path) -> None:
    path, lb = _write(tmp_path / "lab.jsonl", ROWS), tmp_path / "data" / "board.csv"
    _score(path, tmp_path / "run1", lb)
    results = read_jsonl(tmp_path / "run1" / "results.jsonl")
    assert len(results) == 6 * 5  # 6 outputs x (exact_match, edit_distance, 3 AST metrics)
    for row in results:
        item = next(r for r in ROWS if r["id"] == row["id"])
        output = item["outputs"][int(row["model"].split("-")[1]) - 1]
        assert row["value"] == get_metric(row["metric"])(output, item["reference"])
    by = {(r["id"], r["model"], r["metric"]): r["value"] for r in results}
    assert by[("add", "candidate-1", "ast_equal")] == 1.0 and by[("add", "candidate-3", "ast_parses")] == 0.0
    assert by[("capital", "candidate-2", "edit_distance")] == 2.0  # best over the two references
    record = open_run(tmp_path / "run1").record
    assert record.command == "score" and record.environment["packages"]
    metrics = json.loads((tmp_path / "run1" / "metrics.json").read_text())
    assert metrics["candidate-1/lab/ast_equal"] == 1.0  # "Paris" is also a (one-name) Python program
    assert metrics["candidate-3/lab/ast_parses"] == 0.5
    rows, problems = read_rows(lb)
    assert not problems and len(rows) == 3 * 5
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert {(r.benchmark, r.dataset, r.dataset_sha256, r.run_id) for r in rows} == {
        ("lab", str(path), sha, record.run_id)
    }
    em = {r.model: r.score for r in rows if r.metric == "exact_match"}
    assert em == {"candidate-1": 0.5, "candidate-2": 0.0, "candidate-3": 0.0}


def test_two_sessions_compare_and_refuse_to_overwrite(tmp_path: Path) -> None:
    lb = tmp_path / "board.csv"
    first = _write(
        tmp_path / "lab.jsonl", [{"id": f"q{i}", "reference": "yes", "output": "yes"} for i in range(25)]
    )
    _score(first, tmp_path / "a", lb, metrics="exact_match", model="good")
    _write(
        first, [{"id": f"q{i}", "reference": "yes", "output": "no" if i < 20 else "yes"} for i in range(25)]
    )
    _score(first, tmp_path / "b", lb, metrics="exact_match", model="bad")
    [c] = compare_runs(tmp_path / "a", tmp_path / "b")
    assert (c.n, c.wins, c.losses, c.verdict) == (25, 20, 0, "A better")
    assert len(read_rows(lb)[0]) == 2
    with pytest.raises(UsageError, match="already exists"):
        _score(first, tmp_path / "a", lb, metrics="exact_match")


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    _write(tmp_path / "lab.jsonl", [ROWS[0], '{"id": "x", "reference": 3, "output": "y"}'])
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [sys.executable, "-m", "assay.cli.main", "score", "lab.jsonl", "--metrics", "exact_match,ast"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.splitlines()[0]
        == "error: lab.jsonl:2: 'reference' must be a string or a non-empty list of strings"
    )
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.jsonl"]  # no runs/, no data/leaderboard.csv
