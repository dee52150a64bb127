"""MT-Bench end to end with a real model: smollm2-135m answers two questions and judges them itself.

A 135M judge is weak: it may or may not produce "[[rating]]". What is checked is the machinery: every turn
is either scored in 1-10 or recorded as unscored with the judge's outputs and the reason, the run folder has
the standard layout, leaderboard rows are appended, and a second run is answered from the cache.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.judge.mtbench_run import PLOT_NAME, MTBenchConfig, run_mtbench
from assay.leaderboard.store import read_rows
from assay.runs.layout import samples_path
from tests.tracking.runfolders import read_jsonl

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]


@pytest.fixture
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # converted model folders are big and slow to make: keep them in the shared user location
    from assay.models.aliases import models_root

    monkeypatch.setenv("ASSAY_MODELS_DIR", str(models_root()))
    monkeypatch.setenv("ASSAY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _config(tmp_path: Path, data_dir: Path, **overrides: object) -> MTBenchConfig:
    base: dict[str, object] = {
        "model": ModelSpec(model="smollm2-135m"), "judge": ModelSpec(model="smollm2-135m"),
        "question_ids": (81, 111), "answer_max_tokens": 24, "judge_max_tokens": 40, "retries": 1,
        "data_dir": str(data_dir), "output": str(tmp_path / "runs"), "leaderboard": str(tmp_path / "lb.csv"),
    }  # fmt: skip
    return MTBenchConfig(**{**base, **overrides})  # type: ignore[arg-type]


def _check_turn(judge: dict[str, object], score: float | None, detail: str) -> None:
    outputs = judge["outputs"]
    assert isinstance(outputs, list) and 1 <= len(outputs) <= 2  # first attempt + at most one retry
    if score is None:
        assert judge["value"] is None and judge["error"] and len(outputs) == 2  # retried before giving up
        assert "unparseable after 2 attempt(s)" in detail
    else:
        assert 1.0 <= score <= 10.0 and judge["value"] == score


def test_mtbench_single_with_smollm_as_judge(tmp_path: Path, data_dir: Path, isolated_cache: Path) -> None:
    if not os.environ.get("ASSAY_MODELS_DIR"):
        pytest.skip("no models folder")
    record, run_dir = run_mtbench(_config(tmp_path, data_dir))
    assert run_dir.parent == tmp_path / "runs" and not list((tmp_path / "runs").glob(".*partial"))
    for name in ("config.json", "summary.json", "metrics.json", "judgments.jsonl", PLOT_NAME):
        assert (run_dir / name).is_file(), name
    assert (run_dir / PLOT_NAME).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    rows = read_jsonl(samples_path(run_dir, "smollm2-135m", "mtbench"))
    assert [r["sample_id"] for r in rows] == ["mtbench/81", "mtbench/111"]
    assert [r["extras"]["category"] for r in rows] == ["writing", "math"]
    assert [r["extras"]["temperature"] for r in rows] == [0.7, 0.0]
    assert rows[1]["target"] and rows[0]["target"] == ""  # math has GPT-4's reference, writing none
    unscored = 0
    for row in rows:
        assert len(row["outputs"]) == 2 and all(isinstance(o, str) for o in row["outputs"])
        details = row.get("score_details", {})
        for k, judge in enumerate(row["extras"]["judge"], start=1):
            score = row["scores"][f"score_turn{k}"]
            unscored += score is None
            _check_turn(judge, score, details.get(f"score_turn{k}", ""))
        assert [j["prompt"] for j in row["extras"]["judge"]] == (
            ["single-v1", "single-v1-multi-turn"] if row["extras"]["category"] == "writing"
            else ["single-math-v1", "single-math-v1-multi-turn"]
        )  # fmt: skip

    metrics = record.results[0].metrics
    assert metrics["unscored_rate"].value == pytest.approx(unscored / 4) and metrics["unscored_rate"].n == 4
    if unscored < 4:
        assert metrics["score"].n == 4 - unscored and 1.0 <= metrics["score"].value <= 10.0
    else:
        assert "score" not in metrics  # nothing scored: no average is invented
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["results"][0]["task"] == "mtbench" and summary["models"][0]["fingerprint"]
    assert summary["config"]["judge_info"]["name"] == "smollm2-135m"
    board, problems = read_rows(tmp_path / "lb.csv")
    assert not problems and {r.metric for r in board} == set(metrics)
    assert {r.run_id for r in board} == {record.run_id}

    # the same run again comes entirely from the cache and gives the same scores
    again, _ = run_mtbench(_config(tmp_path, data_dir))
    stats = again.stats["smollm2-135m"]  # kept per evaluated model
    assert stats["requests_computed"] == 0 and stats["requests_cached"] > 0
    assert again.metric_map() == record.metric_map()


def test_mtbench_pairwise_in_both_orders(tmp_path: Path, data_dir: Path, isolated_cache: Path) -> None:
    # the baseline is the same weights under another name: its answers come from the shared cache
    twin = ModelSpec(model="smollm2-135m", name="twin")
    config = _config(tmp_path, data_dir, mode="pairwise", baseline=twin, question_ids=(101,), retries=0,
                     judge_max_tokens=24)  # fmt: skip
    record, run_dir = run_mtbench(config)
    assert config.task == "mtbench_vs_twin" and record.results[0].task == "mtbench_vs_twin"
    assert [m.name for m in record.models] == ["smollm2-135m", "twin"]
    [row] = read_jsonl(samples_path(run_dir, "smollm2-135m", "mtbench_vs_twin"))
    assert row["extras"]["baseline_outputs"] == row["outputs"]  # same weights, greedy reasoning answers
    assert record.stats["smollm2-135m"]["requests_cached"] >= 2  # the twin's two answers
    judgments = read_jsonl(run_dir / "judgments.jsonl")
    assert [j["prompt_name"] for j in judgments] == ["pair-math-v1", "pair-math-v1-multi-turn"]
    for j, turn in zip(judgments, ("win_turn1", "win_turn2"), strict=True):
        assert j["forward"]["attempts"] == 1 and j["backward"]["attempts"] == 1
        if j["winner"] is None:
            assert row["scores"][turn] is None and "unparseable" in row["score_details"][turn]
        else:
            assert row["scores"][turn] == {"a": 1.0, "tie": 0.5, "b": 0.0}[j["winner"]]
            assert j["consistent"] == (j["first_order"] == j["second_order"])
    metrics = record.results[0].metrics
    assert metrics["unscored_rate"].value == sum(j["winner"] is None for j in judgments) / 2
    assert record.stats["smollm2-135m"]["judge_attempts"] == 4


def test_rubric_json_grading_with_a_real_judge(tmp_path: Path, isolated_cache: Path) -> None:
    from assay.judge.items import judge_items
    from assay.judge.judge import Judge, JudgeConfig
    from assay.models.backends import load_model

    items = tmp_path / "items.jsonl"
    item = {"item_id": "c1", "prompt": "What is the capital of France?", "response": "Paris.", "model": "m"}
    items.write_text(json.dumps(item) + "\n", encoding="utf-8")
    model = load_model(ModelSpec(model="smollm2-135m"))
    try:
        [row] = judge_items(items, "single", Judge(model, JudgeConfig(max_tokens=40, retries=1)))
    finally:
        model.close()
    assert row["prompt_name"] == "rubric-json-v1" and row["outputs"][0].strip()
    if row["score"] is None:
        assert row["attempts"] == 2 and row["error"]
    else:
        assert 1.0 <= row["score"] <= 10.0 and '"score"' in row["outputs"][-1]
