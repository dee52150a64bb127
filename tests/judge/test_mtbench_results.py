"""Aggregating MT-Bench judgments: unscored turns are skipped (never 0), per turn and per category."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.judge.judge import Judgment, PairJudgment
from assay.judge.mtbench import Question
from assay.judge.mtbench_results import (
    category_turn_means,
    pair_metrics,
    pair_results,
    single_metrics,
    single_results,
)

from .helpers import run_cli

QUESTIONS = [
    Question(question_id=81, category="writing", turns=("w1?", "w2?")),
    Question(question_id=111, category="math", turns=("m1?", "m2?"), reference=("r1", "r2")),
]


def _j(item: str, value: float | str | None) -> Judgment:
    outputs = ("Rating: [[x]]",) if value is None else (f"[[{value}]]",)
    return Judgment(item_id=item, prompt_name="single-v1", value=value, outputs=outputs,  # type: ignore[arg-type]
                    error="no [[rating]] found" if value is None else "")  # fmt: skip


JUDGED = [_j("81/turn1", 8.0), _j("81/turn2", 6.0), _j("111/turn1", 2.0), _j("111/turn2", None)]


def test_single_metrics_skip_unscored_turns() -> None:
    m = single_metrics(QUESTIONS, JUDGED)
    assert m["score"].value == pytest.approx(16 / 3) and m["score"].n == 3
    assert m["score_turn1"].value == 5.0 and m["score_turn2"].value == 6.0 and m["score_turn2"].n == 1
    assert m["score_writing"].value == 7.0 and m["score_math"].value == 2.0 and m["score_math"].n == 1
    assert m["unscored_rate"].value == 0.25 and not m["unscored_rate"].higher_is_better
    assert category_turn_means(QUESTIONS, JUDGED) == {
        "turn 1": {"writing": 8.0, "math": 2.0}, "turn 2": {"writing": 6.0, "math": None}
    }  # fmt: skip


def test_single_results_rows() -> None:
    rows = single_results("m", QUESTIONS, [("a1", "a2"), ("b1", "b2")], JUDGED)
    first, second = (r.to_json() for r in rows)
    assert first["scores"] == {"score": 7.0, "score_turn1": 8.0, "score_turn2": 6.0}
    assert second["scores"] == {"score": None, "score_turn1": 2.0, "score_turn2": None}
    assert "unparseable after 1 attempt(s): no [[rating]] found" in second["score_details"]["score_turn2"]
    assert second["target"] == ["r1", "r2"] and second["outputs"] == ["b1", "b2"]
    assert second["extras"]["judge"][1]["outputs"] == ["Rating: [[x]]"]


def _pair(item: str, forward: str | None, backward: str | None) -> PairJudgment:
    def j(v: str | None) -> Judgment:
        return Judgment(item_id=item, prompt_name="pair-v2", value=v, outputs=("...",))  # type: ignore[arg-type]

    return PairJudgment(item_id=item, forward=j(forward), backward=j(backward))


def test_pair_metrics_count_inconsistency_as_tie_and_report_position_bias() -> None:
    pairs = [
        _pair("81/turn1", "A", "B"),  # a wins in both orders
        _pair("81/turn2", "A", "A"),  # first position both times: tie
        _pair("111/turn1", "tie", "tie"),
        _pair("111/turn2", "B", None),  # unreadable second order: unscored
    ]
    m = pair_metrics(QUESTIONS, pairs)
    assert m["win_rate"].value == pytest.approx((1 + 0.5 + 0.5) / 3) and m["win_rate"].n == 3
    assert m["position_bias_rate"].value == pytest.approx(1 / 3) and m["position_bias_rate"].n == 3
    assert m["unscored_rate"].value == 0.25
    rows = pair_results(
        "m", "base", QUESTIONS, [("a1", "a2")] * 2, [("b1", "b2")] * 2, pairs, "mtbench_vs_base"
    )
    assert rows[0].to_json()["score_details"] == {"win_turn2": "inconsistent: counted as tie"}
    assert rows[1].score("win_turn2") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--mode", "pairwise"], "pairwise mode needs --baseline"),
        (["--categories", "maths"], "unknown MT-Bench category maths"),
        (["--mode", "both"], "unknown mode 'both'"),
        (["--question-ids", "81,x"], "--question-ids takes comma-separated numbers"),
    ],
)
def test_cli_mistakes_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    common = ["judge", "mtbench", "--model", "smollm2-135m", "--judge", "smollm2-135m"]
    code, _, err = run_cli([*common, "--data-dir", str(data_dir), "--output", str(out), *args], capsys)
    assert code == 2, err
    assert message in " ".join(err.split()) and "Traceback" not in err
    assert not out.exists()  # nothing written
