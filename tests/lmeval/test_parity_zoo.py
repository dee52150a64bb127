"""CI parity of lm-eval's own tasks run through assay (`lm:NAME`) with lm-evaluation-harness 0.4.13 itself:
the same rows and the same SmolLM2 weights; lm-eval's hf model on one side, assay's hf backend (packed scorer,
shared prefixes, batched generation, rolling windows) on the other. bench/parity_lmeval_zoo.py does the
comparing; its --tasks/--limit take the full set of tasks in bench/README.md.

Cases: multiple choice (lm:arc_easy), a user's group of two lm-eval tasks with a size-weighted mean, greedy
generation with regex filters (lm:gsm8k, 5 shots, 16 new tokens), and a user's perplexity task over a text file
(loglikelihood_rolling: word and byte perplexity, bits per byte).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.lmeval.user_tasks import write_user_tasks


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_lm_tasks_match_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency: pip install -e '.[dev]'")
    include = write_user_tasks(tmp_path / "tasks")
    out = tmp_path / "parity.json"
    cmd = [sys.executable, str(REPO / "bench" / "parity_lmeval_zoo.py"), "--tasks", "lm:my_arc,lm:gsm8k,lm:my_ppl",
           "--limit", "3", "--max-gen-toks", "16", "--data-dir", str(data_dir), "--include", str(include),
           "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**_env(), "TQDM_DISABLE": "1"})
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = {r["task"]: r for r in json.loads(out.read_text())}
    assert set(rows) >= {"my_arc", "arc_easy", "arc_challenge", "gsm8k", "my_ppl"}, proc.stdout[-2000:]
    for task, per_doc in (("arc_easy", 1), ("arc_challenge", 1), ("gsm8k", 2), ("my_ppl", 1)):
        assert rows[task]["n"] == 3 * per_doc, rows[task]  # every document compared, once per filter
    failed = [r for r in rows.values() if not r["passed"]]
    assert not failed, proc.stdout[-3000:]
    assert proc.returncode == 0 and "PASS my_arc" in proc.stdout, proc.stdout[-2000:]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_lm_tasks_with_the_chat_template_match_lm_eval(data_dir: Path, tmp_path: Path) -> None:
    """--apply-chat-template: lm-eval renders every prompt with the model's template (few-shot examples as
    user/assistant turns, its default) through AssayLM.apply_chat_template; same requests, texts and scores."""
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency: pip install -e '.[dev]'")
    out = tmp_path / "parity.json"
    cmd = [sys.executable, str(REPO / "bench" / "parity_lmeval_zoo.py"), "--tasks", "lm:arc_easy,lm:gsm8k",
           "--limit", "2", "--max-gen-toks", "16", "--data-dir", str(data_dir), "--apply-chat-template",
           "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**_env(), "TQDM_DISABLE": "1"})
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = {r["task"]: r for r in json.loads(out.read_text())}
    assert rows["arc_easy"]["n"] == 2 and rows["gsm8k"]["n"] == 4, rows
    assert all(r["passed"] for r in rows.values()), proc.stdout[-3000:]
