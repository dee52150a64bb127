"""The samples index: offsets read back the exact rows, search equals a scan of every row, the cache is reused
until the file changes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay.view import index as index_module
from assay.view.index import load_index
from assay.view.rows import chosen_by_metric, split_prompt

from .conftest import ViewRuns


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_index_rows_and_search_match_the_file(view_runs: ViewRuns) -> None:
    path = view_runs.a / "samples" / "fake_gsm8k.jsonl"
    rows = _rows(path)
    index = load_index(path)
    assert index.n == len(rows) and index.ids == [r["sample_id"] for r in rows]
    assert index.metrics["exact_match_strict"] == [r["scores"]["exact_match_strict"] for r in rows]
    assert index.read_rows([3, 0]) == [rows[3], rows[0]]
    for query in ("Paris", "paris 42", "eggs", "Janet’s ducks", "no-such-word"):
        words = query.lower().split()
        want = [i for i, r in enumerate(rows)
                if all(w in "\n".join([r["prompt"], *r["outputs"], str(r["prediction"]), str(r["target"])]).lower()
                       for w in words)]  # fmt: skip
        assert index.search(query) == want, query
    assert 0 < len(index.search("paris")) < len(rows)


def test_the_index_is_cached_until_the_file_changes(
    tmp_path: Path, view_runs: ViewRuns, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = Path(shutil.copy(view_runs.a / "samples" / "fake_arc_easy.jsonl", tmp_path / "s.jsonl"))
    built = load_index(path)
    monkeypatch.setattr(index_module, "build_index", lambda p: pytest.fail("rebuilt an unchanged file"))
    assert load_index(path).ids == built.ids
    monkeypatch.undo()
    rows = _rows(path)[:5]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert load_index(path).n == 5


def test_each_metric_marks_its_own_choice() -> None:
    # acc takes the highest loglikelihood (choice 1); acc_norm divides by length first (choice 0)
    row = {"choices": ["a much longer answer", "b"], "loglikelihoods": [-4.0, -3.0],
           "scores": {"acc": 0.0, "acc_norm": 1.0}}  # fmt: skip
    assert chosen_by_metric(row) == {"acc": 1, "acc_norm": 0}
    assert split_prompt("Q: 1?\nA: 1\n\nQ: 2?\nA:") == ("Q: 1?\nA: 1\n\n", "Q: 2?\nA:")
    assert split_prompt("Q: alone?\nA:") == ("", "Q: alone?\nA:")


def test_the_code_scorer_records_the_failing_test_and_the_programs_output(view_runs: ViewRuns) -> None:
    rows = {
        r["sample_id"].split("/")[-1].split("-")[0]: r
        for r in _rows(view_runs.code / "samples" / "fake_view_code.jsonl")
    }
    failed, passed = rows["0"]["extras"]["code"], rows["1"]["extras"]["code"]
    assert failed == {
        "status": "failed", "reason": "half of an odd number", "failing_index": 1,
        "failing_test": "assert half(3) == 1.5, 'half of an odd number'", "failing_reason": "half of an odd number",
        "stdout": "stdout says hi\n", "stderr": "halving numbers today\n",
    }  # fmt: skip
    assert passed["status"] == "passed" and passed["failing_test"] == "" and passed["stderr"] == ""
    assert rows["0"]["scores"] == {"pass@1": 0.0, "passed_first": 0.0}
