"""compare_runs and `assay compare` on run folders written in the documented layout from the real records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assay.errors import UsageError
from assay.records import MetricValue, ModelInfo, RunRecord, SampleResult, Score, TaskResult
from assay.runs.layout import samples_path, write_json_atomic, write_jsonl_atomic
from assay.stats import compare_runs, holm, mcnemar_exact

Scores = dict[str, dict[str, float | None]]  # sample id -> metric -> value


def write_run(
    root: Path, run_id: str, tasks: dict[str, Scores], model: str = "m", lower: tuple[str, ...] = ()
) -> Path:
    """A finished run folder: summary.json (RunRecord), samples/<model>_<task>.jsonl (SampleResult rows)."""
    folder = root / run_id
    results = []
    for task, rows in tasks.items():
        samples = [
            SampleResult(
                sample_id=sid,
                task=task,
                model=model,
                prompt=f"q {sid}",
                target="t",
                prediction="p",
                scores=tuple(Score(metric=k, value=v) for k, v in metrics.items()),
            )  # fmt: skip
            for sid, metrics in rows.items()
        ]
        write_jsonl_atomic(samples_path(folder, model, task), [s.to_json() for s in samples])
        names = {k for metrics in rows.values() for k in metrics}
        agg = {
            k: MetricValue(
                value=float(np.mean([m[k] for m in rows.values() if m.get(k) is not None])),
                stderr=None,
                n=len(rows),
                higher_is_better=k not in lower,
            )  # fmt: skip
            for k in names
        }
        results.append(TaskResult(model=model, task=task, metrics=agg, n_samples=len(rows)))
    record = RunRecord(
        run_id=run_id, created="2026-11-23T12:00:00+00:00", config={},
        models=(ModelInfo(name=model, backend="test", args={}, fingerprint="f"),),
        results=tuple(results), environment={},
    )  # fmt: skip
    write_json_atomic(folder / "summary.json", record.to_json())
    return folder


def _binary(values: list[int], prefix: str = "t/test/") -> Scores:
    return {f"{prefix}{i}": {"acc": float(v)} for i, v in enumerate(values)}


def test_binary_metric_uses_mcnemar_and_finds_a_real_gain(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    b = (rng.random(120) < 0.4).astype(int)
    a = np.where(rng.random(120) < 0.35, 1, b)  # A fixes a third of B's errors and breaks nothing
    run_a = write_run(tmp_path, "20261123-120000-aaaaaa", {"mmlu": _binary(list(a))})
    run_b = write_run(tmp_path, "20261123-120000-bbbbbb", {"mmlu": _binary(list(b))})
    [c] = compare_runs(run_a, run_b)
    assert (c.task, c.metric, c.test, c.n) == ("mmlu", "acc", "mcnemar_exact", 120)
    assert c.p_value == pytest.approx(mcnemar_exact(a, b))
    assert c.difference == pytest.approx(a.mean() - b.mean())
    assert c.losses == 0 and c.wins == int((a > b).sum()) and c.verdict == "A better"
    assert c.ci_low <= c.difference <= c.ci_high
    [back] = compare_runs(run_b, run_a)
    assert back.verdict == "B better" and back.p_value == pytest.approx(c.p_value)


def test_continuous_lower_is_better_metric_and_holm(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(5, 20, 80)
    shorter = base - 2 + rng.normal(0, 1, 80)  # A's edit distances are smaller: A is better
    same = rng.uniform(0, 1, 80)
    rows_a = {f"s{i}": {"edit_distance": shorter[i], "rouge_l": same[i]} for i in range(80)}
    rows_b = {
        f"s{i}": {"edit_distance": base[i], "rouge_l": same[i] + rng.normal(0, 0.01)} for i in range(80)
    }
    run_a = write_run(tmp_path, "a", {"gen": rows_a}, lower=("edit_distance",))
    run_b = write_run(tmp_path, "b", {"gen": rows_b}, lower=("edit_distance",))
    comps = {c.metric: c for c in compare_runs(run_a, run_b, seed=3)}
    ed, rl = comps["edit_distance"], comps["rouge_l"]
    assert ed.test == "paired_bootstrap" and ed.difference < 0 and not ed.higher_is_better
    assert ed.verdict == "A better" and ed.p_adjusted < 0.05
    assert rl.verdict == "no significant difference"
    assert [ed.p_adjusted, rl.p_adjusted] == pytest.approx(holm([ed.p_value, rl.p_value]))
    perm = compare_runs(run_a, run_b, test="permutation", metrics=["edit_distance"])
    assert [c.test for c in perm] == ["paired_permutation"]


def test_pairs_only_shared_scored_samples(tmp_path: Path) -> None:
    a = {"x1": {"acc": 1.0}, "x2": {"acc": 0.0}, "x3": {"acc": None}, "x4": {"acc": 1.0}}
    b = {"x1": {"acc": 0.0}, "x2": {"acc": 0.0}, "x3": {"acc": 1.0}, "x5": {"acc": 1.0}}
    [c] = compare_runs(write_run(tmp_path, "a", {"t": a}), write_run(tmp_path, "b", {"t": b}))
    assert c.n == 2 and c.unpaired == 3  # x3 unscored in A; x4 only in A; x5 only in B
    assert (c.wins, c.ties, c.losses) == (1, 1, 0)


def test_usage_errors(tmp_path: Path) -> None:
    run_a = write_run(tmp_path, "a", {"t": _binary([1, 0, 1], prefix="a/")})
    run_b = write_run(tmp_path, "b", {"t": _binary([1, 0, 1], prefix="b/")})
    with pytest.raises(UsageError, match="share no sample ids"):
        compare_runs(run_a, run_b)
    run_c = write_run(tmp_path, "c", {"t": _binary([0, 0, 1], prefix="a/")})
    with pytest.raises(UsageError) as info:
        compare_runs(run_a, run_c, metrics=["accc"])
    assert info.value.hint is not None and "'acc'" in info.value.hint
    with pytest.raises(UsageError, match="share no task"):
        compare_runs(run_a, write_run(tmp_path, "d", {"other": _binary([1], prefix="a/")}))
    two = write_run(tmp_path, "e", {"t": _binary([1, 1, 1], prefix="a/")}, model="m2")
    write_run(tmp_path, "e2", {"t": _binary([1, 1, 1], prefix="a/")})
    # a run folder holding two models' samples: the model must be named
    summary = json.loads((tmp_path / "e2" / "summary.json").read_text())
    other = json.loads((two / "summary.json").read_text())
    summary["results"] += other["results"]
    summary["models"] += other["models"]
    (tmp_path / "e2" / "summary.json").write_text(json.dumps(summary))
    (tmp_path / "e2" / "samples" / "m2_t.jsonl").write_bytes((two / "samples" / "m2_t.jsonl").read_bytes())
    with pytest.raises(UsageError, match="has 2 models"):
        compare_runs(tmp_path / "e2", run_a)
    [c] = compare_runs(tmp_path / "e2", run_a, model_a="m2")
    assert c.model_a == "m2" and c.n == 3


def _assay(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "220"}
    return subprocess.run(
        [sys.executable, "-m", "assay.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_compare_table_markdown_and_errors(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    write_run(runs, "20261123-120000-aaaaaa", {"t": _binary([1] * 30 + [0] * 10)})
    write_run(runs, "20261123-120001-bbbbbb", {"t": _binary([0] * 30 + [0] * 10)})
    done = _assay("compare", "20261123-120000-aaaaaa", "20261123-120001-bbbbbb", "-o", "cmp.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mcnemar_exact" in done.stdout and "A better" in done.stdout
    md = (tmp_path / "cmp.md").read_text()
    assert "| t | acc | 40 | 0.75 | 0 | 0.75 |" in md and "A better" in md
    as_json = _assay(
        "compare", "runs/20261123-120000-aaaaaa", "runs/20261123-120001-bbbbbb", "--json", cwd=tmp_path
    )
    [row] = json.loads(as_json.stdout)
    assert row["p_value"] == pytest.approx(2 * 0.5**30) and row["verdict"] == "A better"
    assert (row["win_rate"], row["tie_rate"], row["loss_rate"]) == (0.75, 0.25, 0.0)
    write_run(runs, "other", {"t": _binary([1, 0], prefix="zz/")})
    bad = _assay("compare", "20261123-120000-aaaaaa", "runs/other", cwd=tmp_path)
    assert bad.returncode == 2 and "share no sample ids" in bad.stderr
    assert "Traceback" not in bad.stderr and bad.stdout == ""
