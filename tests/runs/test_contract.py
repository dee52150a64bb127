"""The run-folder contract: folders written by `assay run`, `assay judge mtbench` and `assay score` (real CLI
processes) read back as typed records, every file agreeing with the others; an unknown schema version, a
version-1 summary and a torn summary.

`assay run` uses the deterministic fake backend; `assay judge mtbench` needs a judge that can answer
"[[rating]]", which the fake backend's word salad never does, so it runs the real SmolLM2 (one question).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from assay.errors import DataError
from assay.records import SCHEMA_VERSION, RunRecord, SampleResult
from assay.runs.folder import RunFolder, open_run
from tests.conftest import assay_cmd
from tests.tracking.runfolders import read_json, read_jsonl, write_run

pytestmark = pytest.mark.integration


def _assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(assay_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=600)


def _only_run(output: Path) -> Path:
    """The one finished folder under `output`, none left unfinished."""
    assert not list(output.glob("*.partial")), "an unfinished folder was left behind"
    [folder] = [p for p in output.iterdir() if p.is_dir()]
    return folder


def _check_folder(path: Path, command: str) -> RunFolder:
    """summary.json, metrics.json and every samples row agree and round-trip through the typed records."""
    raw = read_json(path / "summary.json")
    folder = open_run(path)
    record = folder.record
    assert record == RunRecord.from_json(raw)
    assert json.loads(json.dumps(record.to_json())) == raw  # nothing lost or added on the way back
    assert (record.command, record.schema_version, record.run_id) == (command, SCHEMA_VERSION, path.name)
    assert read_json(path / "metrics.json") == record.metric_map()
    assert record.environment["python"] and record.environment["packages"]
    for result in record.task_results(groups=False):
        rows = read_jsonl(folder.samples_file(result.model, result.task))
        assert len(rows) == result.n_samples == len(folder.samples(result.model, result.task))
        for row in rows:
            assert SampleResult.from_json(row).to_json() == row
    return folder


def test_assay_run_folder(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "runs"
    done = _assay("run", "--model", "fake", "--tasks", "arc_easy,gsm8k", "--limit", "4", "--data-dir", str(data_dir),
                  "--output", str(out), "--leaderboard", str(tmp_path / "lb.csv"), "-q", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    record = _check_folder(_only_run(out), "run").record
    assert [m.name for m in record.models] == ["fake"] and record.models[0].fingerprint == "fake-v1:0"
    assert [r.task for r in record.results] == ["arc_easy", "gsm8k"]
    assert {r.n_samples for r in record.results} == {4}
    assert "acc" in record.results[0].metrics and "exact_match_strict" in record.results[1].metrics


def test_assay_score_folder(tmp_path: Path) -> None:
    rows = [
        {"id": "q1", "reference": "Paris", "outputs": {"m1": "Paris", "m2": "Lyon"}},
        {"id": "q2", "reference": ["4", "four"], "outputs": {"m1": "four", "m2": "5"}},
        {"id": "q3", "reference": "x", "outputs": {"m1": "y", "m2": "x"}},
    ]
    (tmp_path / "lab.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    done = _assay("score", "lab.jsonl", "--metrics", "exact_match,edit_distance", "--output", "runs/lab",
                  "--leaderboard", "lb.csv", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = _check_folder(_only_run(tmp_path / "runs"), "score")
    record = folder.record
    assert [m.name for m in record.models] == ["m1", "m2"] and {r.task for r in record.results} == {"lab"}
    flat = record.metric_map()
    assert flat["m1/lab/exact_match"] == pytest.approx(2 / 3) and flat["m2/lab/exact_match"] == pytest.approx(1 / 3)
    mv = record.results[0].metrics["exact_match"]
    assert mv.n == 3 and mv.stderr == pytest.approx((1 / 3 / 3) ** 0.5)  # sample std (ddof=1) / sqrt(n)
    assert len(read_jsonl(folder.file("results.jsonl"))) == 6 * 2


def test_assay_judge_mtbench_folder(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "runs"
    # the fake backend answers (instantly); the real SmolLM2 judges
    done = _assay("judge", "mtbench", "--model", "fake", "--judge", "smollm2-135m", "--questions", "1",
                  "--judge-max-tokens", "12", "--retries", "0", "--data-dir", str(data_dir),
                  "--output", str(out), "--leaderboard", str(tmp_path / "lb.csv"), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = _check_folder(_only_run(out), "judge-mtbench")
    record = folder.record
    assert [(m.name, m.backend, m.fingerprint) for m in record.models] == [("fake", "fake", "fake-v1:0")]
    assert [r.task for r in record.results] == ["mtbench"] and record.results[0].n_samples == 1
    assert record.results[0].metrics["unscored_rate"].n == 2  # two turns, each scored or counted unscored
    judge = record.config["judge_info"]
    assert (judge["name"], judge["backend"]) == ("smollm2-135m", "hf") and judge["fingerprint"]
    stats = record.stats["fake"]
    assert stats["judgments"] == 2 and stats["requests_computed"] == 4  # 2 answers + 2 judgments, no retry
    assert len(read_jsonl(folder.file("judgments.jsonl"))) == 2


def _error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and all(line.startswith(("error: ", "hint: ")) for line in lines)
    return lines


def test_unknown_schema_version_is_refused_naming_file_and_version(tmp_path: Path) -> None:
    run_a, run_b = write_run(tmp_path / "a"), write_run(tmp_path / "b")
    summary = read_json(run_b / "summary.json")
    (run_b / "summary.json").write_text(json.dumps({**summary, "schema_version": 99}), encoding="utf-8")
    with pytest.raises(DataError) as err:
        open_run(run_b)
    assert str(run_b / "summary.json") in err.value.message and "99" in err.value.message
    assert "\n" not in err.value.message
    lines = _error_lines(_assay("compare", str(run_a), str(run_b), cwd=tmp_path))
    assert str(run_b / "summary.json") in lines[0] and "schema_version 99" in lines[0]


def test_version_1_summary_is_read(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs")
    current = open_run(run).record
    summary = read_json(run / "summary.json")
    old = {k: v for k, v in summary.items() if k not in {"schema_version", "command"}}  # before they existed
    (run / "summary.json").write_text(json.dumps(old), encoding="utf-8")
    record = open_run(run).record
    assert record.schema_version == 1 and record.command == "run"
    assert record.results == current.results and record.models == current.models
    done = _assay("compare", str(run), str(run), "--json", cwd=tmp_path)  # a consumer reads it as it is
    assert done.returncode == 0, done.stderr
    assert [c["verdict"] for c in json.loads(done.stdout)] == ["no significant difference"]


def test_torn_summary_on_compare_is_one_line(tmp_path: Path) -> None:
    run_a, run_b = write_run(tmp_path / "a"), write_run(tmp_path / "b")
    text = (run_b / "summary.json").read_text(encoding="utf-8")
    (run_b / "summary.json").write_text(text[: len(text) // 2], encoding="utf-8")  # a torn write
    lines = _error_lines(_assay("compare", str(run_a), str(run_b), cwd=tmp_path))
    assert lines[0].startswith(f"error: {run_b / 'summary.json'} is not valid JSON")
