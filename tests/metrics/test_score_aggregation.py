"""One aggregation per metric: `assay score` and `assay run` both aggregate through `aggregate_scores`, which takes a
catalog metric's direction and corpus value from its MetricSpec (the one definition)."""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest

from assay.cli.score import score
from assay.config import ModelSpec, RunConfig
from assay.metrics import METRICS, get_metric
from assay.metrics.aggregate import aggregate_scores
from assay.records import Score
from assay.runner import run_evaluation
from assay.runs.folder import open_run

VALUES = [3.0, None, 0.0, 1.0, 10.0]


@pytest.mark.parametrize("name", sorted(METRICS))
def test_catalog_metric_aggregates_by_its_spec(name: str) -> None:
    spec = get_metric(name)
    [mv] = aggregate_scores([[Score(metric=name, value=v)] for v in VALUES], metrics={name: spec}).values()
    scored = [v for v in VALUES if v is not None]
    assert mv.value == spec.aggregate(VALUES) == statistics.fmean(scored)  # every catalog metric is a mean
    assert mv.n == 4 and mv.higher_is_better is spec.higher_is_better
    assert mv.stderr == pytest.approx(statistics.stdev(scored) / 2)


def test_a_median_metric_gets_its_median_and_no_stderr_of_the_mean() -> None:
    spec = replace(get_metric("edit_distance"), aggregation="median")
    [mv] = aggregate_scores([[Score(metric="edit_distance", value=v)] for v in VALUES],
                            metrics={"edit_distance": spec}).values()  # fmt: skip
    assert (mv.value, mv.stderr, mv.stderr_method, mv.higher_is_better) == (2.0, None, "", False)


def test_assay_score_and_assay_run_aggregate_alike(tmp_path: Path) -> None:
    """A real `assay run` (the fake backend answering a task file that names catalog metrics), then `assay score`
    on the same predictions and references: the same MetricValues, edit_distance lower-is-better in both."""
    rows = [{"q": f"Say {w}.", "a": w} for w in ("kitten", "sitting", "flaw", "abc", "cat", "dog")]
    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "lab.yaml").write_text(
        "name: lab\ndataset: {data_files: rows.jsonl}\noutput_type: generate\ndoc_to_text: '{{q}}'\n"
        "doc_to_target: '{{a}}'\nmetrics: [edit_distance, exact_match]\n", encoding="utf-8")  # fmt: skip
    config = RunConfig(models=(ModelSpec(model="fake"),), tasks=("lab",), task_files=(str(tmp_path / "lab.yaml"),),
                       output=str(tmp_path / "runs"), leaderboard=None, use_cache=False)  # fmt: skip
    ran, run_dir = run_evaluation(config, show_progress=False)
    samples = open_run(run_dir).samples("fake", "lab")
    outputs = tmp_path / "lab.jsonl"
    outputs.write_text("".join(json.dumps({"id": s.sample_id, "reference": s.target, "output": s.prediction}) + "\n"
                               for s in samples), encoding="utf-8")  # fmt: skip
    score(outputs, metrics="edit_distance,exact_match", model="fake", output=tmp_path / "scored", leaderboard=None,
          no_leaderboard=False)  # fmt: skip
    scored = open_run(tmp_path / "scored").record.results[0].metrics
    assert ran.results[0].metrics == scored
    assert scored["edit_distance"].higher_is_better is False and scored["edit_distance"].n == len(rows)
    assert scored["edit_distance"].value > 0  # the fake model's words are not the references
