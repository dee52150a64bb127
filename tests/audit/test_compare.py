"""compare_runs on run folders the tests write: each kind of change is found and blamed on the right cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.audit.compare import CROSS_MACHINE_TOLERANCE, compare_runs, split_sample_id
from assay.runs.layout import write_json_atomic, write_jsonl_atomic
from tests.tracking.runfolders import read_json, read_jsonl, write_run

SAMPLES = "samples/smollm2-135m_arc_easy.jsonl"


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    original = write_run(tmp_path / "a", n=6, accuracy=0.5)
    rerun = tmp_path / "b" / original.name
    shutil.copytree(original, rerun)
    return original, rerun


def _edit_sample(run: Path, index: int, **changes: object) -> None:
    rows = read_jsonl(run / SAMPLES)
    rows[index].update(changes)
    write_jsonl_atomic(run / SAMPLES, rows)


def _edit_summary(run: Path, edit) -> None:  # type: ignore[no-untyped-def]
    summary = read_json(run / "summary.json")
    edit(summary)
    write_json_atomic(run / "summary.json", summary)


def test_identical_runs_reproduce(pair: tuple[Path, Path]) -> None:
    report = compare_runs(*pair)
    assert report.reproduced and report.differences == () and report.tolerance == 0.0
    assert report.samples_compared == 6


def test_tiny_float_change_is_a_difference_on_the_same_machine(pair: tuple[Path, Path]) -> None:
    _edit_sample(pair[1], 2, loglikelihoods=[-1.0, -2.0000001, -3.0, -4.0])
    report = compare_runs(*pair)
    assert not report.reproduced
    (diff,) = report.differences
    assert diff.where.endswith(read_jsonl(pair[0] / SAMPLES)[2]["sample_id"])
    assert diff.cause.startswith("unexplained")
    assert compare_runs(*pair, tolerance=1e-6).reproduced


def test_changed_row_is_named_and_blamed_on_data(pair: tuple[Path, Path]) -> None:
    old_id = read_jsonl(pair[0] / SAMPLES)[4]["sample_id"]
    position, _ = split_sample_id(old_id)
    _edit_sample(pair[1], 4, sample_id=f"{position}-00000000", prediction=3)
    _edit_summary(pair[1], lambda s: s["results"][0].update(dataset_sha256="0" * 64))
    report = compare_runs(*pair)
    samples = [d for d in report.differences if d.kind == "sample"]
    assert len(samples) == 1 and old_id in samples[0].detail and samples[0].cause == "data changed"
    assert any(d.kind == "dataset" for d in report.differences)
    assert report.causes == ("data changed",)


def test_model_and_package_changes(pair: tuple[Path, Path]) -> None:
    _edit_summary(pair[1], lambda s: s["models"][0].update(fingerprint="beef"))
    _edit_sample(pair[1], 0, loglikelihoods=[-1.5, -2.0, -3.0, -4.0])
    assert compare_runs(*pair).causes == ("model changed",)
    _edit_summary(pair[1], lambda s: s["models"][0].update(fingerprint="f00dfeedcafe0001"))
    _edit_summary(pair[1], lambda s: s["environment"]["packages"].update(torch="2.14.0"))
    report = compare_runs(*pair)
    assert report.tolerance == CROSS_MACHINE_TOLERANCE
    assert "torch 2.13.0 -> 2.14.0" in [d.detail for d in report.differences]
    assert report.causes == ("package versions changed",)


def test_cached_record_gets_noise_tolerance_and_a_note(pair: tuple[Path, Path]) -> None:
    _edit_summary(pair[0], lambda s: s["stats"]["smollm2-135m"].update(requests_cached=5))
    _edit_sample(pair[1], 1, loglikelihoods=[-1.000003, -2.0, -3.0, -4.0])
    report = compare_runs(*pair)
    assert report.reproduced and report.notes
    assert report.max_float_diff == pytest.approx(3e-6, rel=0.01)


def test_missing_sample_is_reported(pair: tuple[Path, Path]) -> None:
    rows = read_jsonl(pair[1] / SAMPLES)
    write_jsonl_atomic(pair[1] / SAMPLES, rows[:-1])
    report = compare_runs(*pair)
    (diff,) = report.differences
    assert diff.kind == "missing" and diff.detail == "in the recorded run only"
    assert diff.where == "smollm2-135m/" + split_sample_id(rows[-1]["sample_id"])[0]
    assert not report.reproduced
