"""check_run builds every task once and run_evaluation evaluates what it built, for every model of the run; the
backend capabilities (assay.models.backends.CAPABILITIES) decide which run options become model args and which
backend checks its args before loading. Real tasks and data, the fake backend: no model is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.config import ModelSpec, RunConfig
from assay.errors import UsageError
from assay.preflight import check_run, run_model_args
from assay.runner import run_evaluation
from assay.runs.folder import open_run


def _config(tmp: Path, data_dir: Path, **extra: object) -> RunConfig:
    return RunConfig(
        models=(ModelSpec(model="fake", name="a", args={"seed": 1}), ModelSpec(model="fake", name="b")),
        tasks=("arc_easy", "gsm8k"),
        limit=5,
        data_dir=str(data_dir),
        output=str(tmp / "runs"),
        leaderboard=None,
        use_cache=False,
        **extra,  # type: ignore[arg-type]
    )


def test_every_model_is_asked_exactly_the_requests_preflight_built(tmp_path: Path, data_dir: Path) -> None:
    config = _config(tmp_path, data_dir)
    checked = check_run(config)
    assert [t.spec.name for t in checked.tasks] == ["arc_easy", "gsm8k"]
    assert [len(t.samples) for t in checked.tasks] == [5, 5]
    built = sum(len(t.requests) for t in checked.tasks)
    record, folder = run_evaluation(config, checked=checked, show_progress=False)
    assert {name: record.stats[name]["requests_total"] for name in ("a", "b")} == {"a": built, "b": built}
    run = open_run(folder)
    for task in checked.tasks:
        ids = [s.sample_id for s in task.samples]
        assert [r.sample_id for r in run.samples("a", task.spec.name)] == ids
        assert [r.sample_id for r in run.samples("b", task.spec.name)] == ids


def test_what_was_checked_for_another_configuration_is_refused(tmp_path: Path, data_dir: Path) -> None:
    checked = check_run(_config(tmp_path, data_dir))
    with pytest.raises(ValueError, match="another configuration"):
        run_evaluation(_config(tmp_path, data_dir, seed=7), checked=checked, show_progress=False)
    assert not (tmp_path / "runs").exists()


def test_run_options_reach_only_the_backends_that_take_them(tmp_path: Path, data_dir: Path) -> None:
    config = _config(tmp_path, data_dir, batch_size="auto", device="cpu")
    assert run_model_args("hf", config) == {"batch_size": "auto", "device": "cpu"}
    assert run_model_args("hf", _config(tmp_path, data_dir)) == {"batch_size": 8}  # no --device: none passed
    assert run_model_args("fake", config) == run_model_args("openai-chat", config) == {}


def test_the_hf_check_sees_the_args_the_model_loads_with(tmp_path: Path, data_dir: Path) -> None:
    """A spec's own device wins over --device when the model loads, so it is the one checked."""
    folder = tmp_path / "ckpt"
    folder.mkdir()
    spec = ModelSpec(model="hf", args={"pretrained": str(folder), "device": "tpu"})
    config = _config(tmp_path, data_dir, device="cpu").model_copy(update={"models": (spec,)})
    with pytest.raises(UsageError, match="unknown device 'tpu'"):
        check_run(config)
    missing = spec.model_copy(update={"args": {"pretrained": str(tmp_path / "gone")}})
    with pytest.raises(UsageError, match="no such folder"):
        check_run(config.model_copy(update={"models": (missing,)}))
