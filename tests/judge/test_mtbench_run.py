"""Writing an MT-Bench run folder: the standard layout, leaderboard rows, and nothing left half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.judge.judge import Judgment
from assay.judge.mtbench import Question
from assay.judge.mtbench_results import category_turn_means, single_metrics, single_results
from assay.judge.mtbench_run import PLOT_NAME, Judged, MTBenchConfig, write_run
from assay.judge.rows import single_row
from assay.leaderboard.store import read_rows
from assay.records import ModelInfo
from assay.runs.folder import open_run, read_config
from tests.tracking.runfolders import read_json, read_jsonl

QUESTIONS = [
    Question(question_id=81, category="writing", turns=("w1?", "w2?")),
    Question(question_id=111, category="math", turns=("m1?", "m2?"), reference=("r1", "r2")),
]
ANSWERS = [("a1", "a2"), ("b1", "b2")]
JUDGMENTS = [
    Judgment(item_id="81/turn1", prompt_name="single-v1", value=8.0, outputs=("[[8]]",)),
    Judgment(item_id="81/turn2", prompt_name="single-v1-multi-turn", value=6.0, outputs=("[[6]]",)),
    Judgment(item_id="111/turn1", prompt_name="single-math-v1", value=2.0, outputs=("[[2]]",)),
    Judgment(item_id="111/turn2", prompt_name="single-math-v1-multi-turn", value=None, outputs=("?", "??"),
             error="no [[rating]] found"),
]  # fmt: skip
INFO = ModelInfo(name="smollm2-135m", backend="hf", args={}, fingerprint="sha256:abc")


def _judged() -> Judged:
    rows = [single_row(j, model="smollm2-135m", answer="x") for j in JUDGMENTS]
    return Judged(
        single_results("smollm2-135m", QUESTIONS, ANSWERS, JUDGMENTS),
        single_metrics(QUESTIONS, JUDGMENTS),
        rows,
        category_turn_means(QUESTIONS, JUDGMENTS),
    )


def _config(tmp_path: Path, **extra: object) -> MTBenchConfig:
    spec = ModelSpec(model="smollm2-135m")
    return MTBenchConfig(model=spec, judge=spec, output=str(tmp_path / "runs"),
                         leaderboard=str(tmp_path / "lb.csv"), **extra)  # type: ignore[arg-type]  # fmt: skip


def test_run_folder_layout_and_leaderboard(tmp_path: Path) -> None:
    stats = {"smollm2-135m": {"judgments": 4}}
    record, run_dir = write_run(_config(tmp_path), QUESTIONS, [INFO], INFO, _judged(), stats, 1.5)
    folder = open_run(run_dir)
    assert folder.record == record and record.command == "judge-mtbench"
    assert folder.record.results[0].task == "mtbench" and folder.record.results[0].metrics["score"].n == 3
    assert folder.record.environment["python"] and folder.record.stats == stats
    assert read_json(run_dir / "metrics.json")["smollm2-135m/mtbench/score"] == pytest.approx(16 / 3)
    assert read_config(run_dir)["judge"]["model"] == "smollm2-135m"
    samples = folder.samples("smollm2-135m", "mtbench")
    assert [s.score("score") for s in samples] == [7.0, None]
    assert [r["score"] for r in read_jsonl(run_dir / "judgments.jsonl")] == [8.0, 6.0, 2.0, None]
    assert (run_dir / PLOT_NAME).read_bytes()[:4] == b"\x89PNG"
    rows, problems = read_rows(tmp_path / "lb.csv")
    assert not problems
    by_metric = {r.metric: r for r in rows}
    assert by_metric["score"].score == pytest.approx(16 / 3) and by_metric["score"].n == 3
    assert by_metric["unscored_rate"].score == 0.25 and by_metric["score_math"].n == 1
    assert {r.benchmark for r in rows} == {"mtbench"} and {r.dataset_sha256 for r in rows} != {""}


def test_a_failed_write_leaves_no_run_folder_and_no_leaderboard_rows(tmp_path: Path) -> None:
    judged = _judged()
    # the plot fails after the samples and judgments were already written into the partial folder
    broken = Judged(judged.samples, judged.metrics, judged.rows, {"turn 1": {"writing": "high"}})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        write_run(_config(tmp_path), QUESTIONS, [INFO], INFO, broken, {}, 1.0)
    assert not (tmp_path / "runs").exists()  # the partial folder, and the runs/ folder made for it, were removed
    assert not (tmp_path / "lb.csv").exists()
