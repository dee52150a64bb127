"""CI parity check: assay's per-sample loglikelihoods and predictions equal lm-evaluation-harness's.

Runs bench/parity_lmeval.py (the same script the README's figures come from) on 20 rows per task, so
every CI run compares assay with lm-eval 0.4.13 on arc_easy, hellaswag, winogrande and an mmlu subject.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TASKS = ("arc_easy", "hellaswag", "winogrande", "mmlu_high_school_geography")
LIMIT = 20


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_assay_matches_lm_eval_per_sample(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency: pip install -e '.[dev]'")
    out = tmp_path / "parity.json"
    cmd = [
        sys.executable, str(REPO / "bench" / "parity_lmeval.py"), "--limit", str(LIMIT),
        "--tasks", ",".join(TASKS), "--data-dir", str(data_dir), "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    results = {r["task"]: r for r in json.loads(out.read_text())}
    assert set(results) == set(TASKS)
    for task, r in results.items():
        assert r["n_assay"] == r["n_lmeval"] == LIMIT, task
        assert r["max_abs_diff"] <= 1e-3, (task, r["examples"])
        assert r["metric_mismatches"] == 0 and r["shape_mismatches"] == 0, (task, r["examples"])
    assert proc.returncode == 0 and "PASS" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_five_shot_matches_lm_eval_per_sample(data_dir: Path, tmp_path: Path) -> None:
    """MMLU 5-shot, shots first-n from the evaluated split (each row left out of its own: rows 0-4 have
    blocks of their own, the others share one, read in place by the packed path)."""
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency: pip install -e '.[dev]'")
    out = tmp_path / "parity.json"
    cmd = [
        sys.executable, str(REPO / "bench" / "parity_lmeval.py"), "--limit", str(LIMIT),
        "--tasks", "mmlu_high_school_geography", "--num-fewshot", "5", "--fewshot-split", "test",
        "--data-dir", str(data_dir), "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    (r,) = json.loads(out.read_text())
    assert r["n_assay"] == r["n_lmeval"] == LIMIT
    assert r["max_abs_diff"] <= 1e-3, r["examples"]
    assert r["metric_mismatches"] == 0 and r["shape_mismatches"] == 0, r["examples"]
    assert proc.returncode == 0 and "PASS" in proc.stdout, proc.stdout[-2000:]
