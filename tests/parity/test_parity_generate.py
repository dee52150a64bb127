"""CI parity check: assay's greedy gsm8k texts equal lm-evaluation-harness's (hf backend, batch 1 on both sides).

Runs bench/parity_generate.py on 3 rows with 64 new tokens at most: lm-eval's gsm8k_cot and assay's gsm8k, the
8 fixed exemplars (a prefix assay forwards once and reads in place), greedy until "Q:".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_greedy_gsm8k_texts_equal_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency: pip install -e '.[dev]'")
    out = tmp_path / "texts.json"
    cmd = [
        sys.executable, str(REPO / "bench" / "parity_generate.py"), "--limit", "3", "--max-tokens", "64",
        "--batch-size", "1", "--data-dir", str(data_dir), "--json", str(out),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    texts = json.loads(out.read_text())
    assert len(texts["lmeval"]) == 3 and all(texts["lmeval"].values())  # lm-eval generated something per row
    assert texts["assay"] == texts["lmeval"], proc.stdout[-3000:]
    assert proc.returncode == 0 and "PASS" in proc.stdout, proc.stdout[-2000:]
