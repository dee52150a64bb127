"""The runner and the pipeline, end to end in process, with the deterministic fake backend injected.

Real tasks and real data (../shared/data); no model is loaded, so these run in seconds.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assay import pipeline
from assay.config import ModelSpec, RunConfig
from assay.errors import ModelError, UsageError
from assay.records import LoglikelihoodResponse
from assay.runner import run_evaluation
from assay.runs.folder import list_runs, open_run
from assay.tasks.build import build_samples, load_task_data
from assay.tasks.catalog import select
from assay.testing.fake import FakeModel


def _config(tmp: Path, data_dir: Path, tasks: tuple[str, ...], **extra: object) -> RunConfig:
    return RunConfig(
        models=(ModelSpec(model="fake", name="fake"),),
        tasks=tasks,
        limit=6,
        data_dir=str(data_dir),
        output=str(tmp / "runs"),
        leaderboard=str(tmp / "lb.csv"),
        **extra,  # type: ignore[arg-type]
    )


def test_injected_model_runs_mc_and_generative_tasks(tmp_path: Path, data_dir: Path) -> None:
    model = FakeModel(name="fake", seed=7)
    record, folder = run_evaluation(
        _config(tmp_path, data_dir, ("arc_easy", "gsm8k")), model=model, show_progress=False
    )
    assert folder == open_run(folder).path and not folder.name.endswith(".partial")
    arc = {r.task: r for r in record.results}["arc_easy"]
    samples = open_run(folder).samples("fake", "arc_easy")
    assert arc.n_samples == len(samples) == 6
    acc = sum(s.score("acc") or 0.0 for s in samples) / 6
    assert math.isclose(arc.metrics["acc"].value, acc)
    for s in samples:  # the prediction is the argmax of the fake loglikelihoods
        assert s.prediction == max(range(len(s.loglikelihoods)), key=lambda i: s.loglikelihoods[i])
    gsm = open_run(folder).samples("fake", "gsm8k")
    assert all(len(s.outputs) == 1 and s.outputs[0] for s in gsm)
    assert record.models[0].fingerprint == "fake-v1:7"
    assert model.stats["fake_requests"] == record.stats["fake"]["requests_computed"]


def test_same_seed_same_results_other_seed_differs(tmp_path: Path, data_dir: Path) -> None:
    cfg = _config(tmp_path, data_dir, ("hellaswag",), use_cache=False)
    first, first_dir = run_evaluation(cfg, model=FakeModel(name="fake", seed=1), show_progress=False)
    again, again_dir = run_evaluation(cfg, model=FakeModel(name="fake", seed=1), show_progress=False)
    other, other_dir = run_evaluation(cfg, model=FakeModel(name="fake", seed=2), show_progress=False)
    assert first.metric_map() == again.metric_map()
    assert len(list_runs(tmp_path / "runs")) == 3
    # by folder, not listing order: run ids made in the same second sort by their random suffix
    lls = [open_run(d).samples("fake", "hellaswag")[0].loglikelihoods for d in (first_dir, again_dir, other_dir)]
    assert lls[0] == lls[1] != lls[2]
    assert other.models[0].fingerprint != first.models[0].fingerprint


def test_group_result_pools_its_subtasks(tmp_path: Path, data_dir: Path) -> None:
    record, _ = run_evaluation(
        _config(tmp_path, data_dir, ("ai2_arc",)), model=FakeModel(name="fake"), show_progress=False
    )
    by_task = {r.task: r for r in record.results}
    group = by_task["ai2_arc"]
    assert group.is_group and set(group.subtasks) == {"arc_easy", "arc_challenge"}
    parts = [by_task["arc_easy"].metrics["acc"], by_task["arc_challenge"].metrics["acc"]]
    assert group.metrics["acc"].n == sum(p.n for p in parts)
    assert math.isclose(group.metrics["acc"].value, sum(p.value * p.n for p in parts) / group.metrics["acc"].n)


def test_failure_before_any_work_leaves_nothing(tmp_path: Path, data_dir: Path) -> None:
    with pytest.raises(ModelError):
        run_evaluation(
            _config(tmp_path, data_dir, ("arc_easy",)), model=FakeModel(name="fake", fail_rate=1.0),
            show_progress=False,
        )  # fmt: skip
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    assert not (tmp_path / "lb.csv").exists()


def test_injected_model_needs_exactly_one_spec(tmp_path: Path, data_dir: Path) -> None:
    cfg = _config(tmp_path, data_dir, ("arc_easy",)).model_copy(
        update={"models": (ModelSpec(model="fake"), ModelSpec(model="fake", name="b"))}
    )
    with pytest.raises(UsageError, match="exactly one"):
        run_evaluation(cfg, model=FakeModel(), show_progress=False)


def test_pipeline_scores_choices_from_loglikelihoods(data_dir: Path) -> None:
    spec = select(("arc_easy",), ()).tasks[0]
    samples = build_samples(spec, load_task_data(spec, data_dir, 3), 0, 1234)
    requests = pipeline.loglikelihood_requests(samples)
    assert len(requests) == sum(len(s.choices) for s in samples)
    # make the gold choice the most likely one for every sample: acc must be 1
    responses = []
    for s in samples:
        for i in range(len(s.choices)):
            logprob = -1.0 if i == s.target else -5.0
            responses.append(LoglikelihoodResponse(logprob=logprob, is_greedy=False, n_tokens=1))
    results = pipeline.score_choices(spec, "m", samples, responses)
    assert [r.score("acc") for r in results] == [1.0, 1.0, 1.0]
    assert [r.prediction for r in results] == [s.target for s in samples]
