"""Judge-vs-human agreement and judge bias on small hand-checked examples; the CLI on the same files."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from assay.errors import DataError, UsageError
from assay.judge.quality import agreement, human_labels, read_rows

from .helpers import run_cli


def _pair_judge() -> list[dict[str, Any]]:
    def row(
        item: str, first: str | None, second: str | None, winner: str | None, la: int, lb: int
    ) -> dict[str, Any]:
        return {"item_id": item, "mode": "pairwise", "model_a": "m", "model_b": "n", "winner": winner,
                "first_order": first, "second_order": second, "len_a": la, "len_b": lb}  # fmt: skip

    return [
        row("i1", "a", "a", "a", 100, 50),
        row("i2", "b", "b", "b", 10, 80),
        row("i3", "a", "b", "tie", 30, 20),  # followed the position: a tie
        row("i4", "a", None, None, 5, 5),  # second order unreadable: unscored
    ]


def _pair_human() -> list[dict[str, Any]]:
    def row(item: str, annotator: str, winner: str) -> dict[str, Any]:
        return {"item_id": item, "annotator": annotator, "mode": "pairwise", "winner": winner}

    return [row("i1", "ann", "a"), row("i1", "bob", "a"), row("i2", "ann", "b"), row("i2", "bob", "a"),
            row("i3", "ann", "tie"), row("i4", "ann", "b"), row("i5", "ann", "a")]  # fmt: skip


def test_pairwise_agreement_by_hand() -> None:
    report = agreement(_pair_judge(), _pair_human())
    # joined: i1 (a vs a), i2 (b vs split vote = tie), i3 (tie vs tie); i4 unscored, i5 has no judge row
    assert (report.n_items, report.n_judge_unscored, report.n_missing) == (3, 1, 1)
    assert report.accuracy == pytest.approx(2 / 3)
    # p_o = 2/3, p_e = 1/3*1/3 + 1/3*0 + 1/3*2/3 = 1/3  ->  kappa = (2/3 - 1/3) / (1 - 1/3)
    assert report.kappa == pytest.approx(0.5)
    assert report.extra["position_bias_rate"] == pytest.approx(1 / 3)  # i3 of i1..i3 (i4 lacks an order)
    assert report.extra["first_position_rate"] == pytest.approx(1 / 3)
    assert report.extra["judge_longer_wins_rate"] == 1.0  # i1 and i2: the longer answer won; i3 is a tie


def _single_judge() -> list[dict[str, Any]]:
    return [
        {"item_id": "i1", "mode": "single", "score": 8.0, "answer_length": 100},
        {"item_id": "i2", "mode": "single", "score": 3.0, "answer_length": 20},
        {"item_id": "i3", "mode": "single", "score": 5.0, "answer_length": 50},
        {"item_id": "i4", "mode": "single", "score": None, "answer_length": 70},
    ]


def _single_human() -> list[dict[str, Any]]:
    return [{"item_id": "i1", "score": 8}, {"item_id": "i2", "score": 6}, {"item_id": "i2", "score": 8},
            {"item_id": "i3", "score": 4}, {"item_id": "i4", "score": 9}]  # fmt: skip


def test_single_agreement_by_hand() -> None:
    report = agreement(_single_judge(), _single_human())
    assert (report.mode, report.n_items, report.n_judge_unscored) == ("single", 3, 1)
    # judge 8, 3, 5 vs human 8, 7 (mean of 6 and 8), 4
    assert report.accuracy == pytest.approx(1 / 3)
    assert report.kappa == pytest.approx(0.25)  # p_o = 1/3, p_e = 1/9
    assert report.extra["within_1"] == pytest.approx(2 / 3)
    assert report.extra["mean_abs_error"] == pytest.approx(5 / 3)
    assert report.extra["length_score_spearman"] == pytest.approx(1.0)  # longer answers scored higher


def test_human_labels_mean_rounds_half_up_in_agreement() -> None:
    labels = human_labels([{"item_id": "x", "score": 6}, {"item_id": "x", "score": 7}], "single")
    assert labels == {"x": 6.5}
    report = agreement([{"item_id": "x", "mode": "single", "score": 7.0}], [{"item_id": "x", "score": 6.5}])
    assert report.accuracy == 1.0 and math.isnan(report.kappa)  # one label each: kappa undefined, not 1


def test_mistakes_are_reported() -> None:
    with pytest.raises(UsageError, match="single but the human labels are pairwise"):
        agreement(_single_judge(), _pair_human())
    with pytest.raises(UsageError, match="no item has both"):
        agreement(_single_judge(), [{"item_id": "zz", "score": 3}])


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_read_rows_names_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    path.write_text('{"item_id": "a"}\n{not json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"j.jsonl:2"):
        read_rows(path)


def test_cli_agreement_json_and_error_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge = _write(tmp_path / "judge.jsonl", _pair_judge())
    human = _write(tmp_path / "human.jsonl", _pair_human())
    code, out, err = run_cli(["judge", "agreement", str(judge), "--human", str(human), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["kappa"] == pytest.approx(0.5) and report["n_items"] == 3
    wrong = _write(tmp_path / "single.jsonl", _single_human())
    code, _, err = run_cli(["judge", "agreement", str(judge), "--human", str(wrong)], capsys)
    assert code == 2
    assert err.startswith("error: the judgments are pairwise but the human labels are single")
    assert "Traceback" not in err


def test_bias_without_human_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    judge = _write(tmp_path / "judge.jsonl", _pair_judge())
    code, out, err = run_cli(["judge", "bias", str(judge), "--json"], capsys)
    assert code == 0, err
    figures = json.loads(out)
    assert figures["position_bias_rate"] == pytest.approx(1 / 3)
    assert figures["judge_longer_wins_rate"] == 1.0
    single = _write(tmp_path / "single.jsonl", _single_judge())
    code, out, _ = run_cli(["judge", "bias", str(single), "--json"], capsys)
    assert json.loads(out)["length_score_spearman"] == pytest.approx(1.0)
