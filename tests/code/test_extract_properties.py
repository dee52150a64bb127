"""A completion is text assay does not control: code extraction takes any of it, and the sandbox judges it.

Property tests over `extract_code` (both modes) with hostile text (tests/hostile.py), and a real `assay
check-code` run over completions that once stopped it (an unpaired surrogate escape) or that no Python compiles
(NUL bytes, nesting past the parser's limit, an integer past the digit limit): it completes, each one failed.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from assay.code.extract import extract_code
from tests.conftest import assay_cmd
from tests.hostile import BOUNDED, hostile

COMPLETIONS = ["```python\n{}\n```", "    return {}\n", "def add(a, b):\n    {}\nThis code adds.", "```\n{}",
               "Here you go:\n```py\ndef add(a, b):\n    return {}\n```\n[DONE] {}"]  # fmt: skip


@BOUNDED
@given(hostile(COMPLETIONS), st.sampled_from(["body", "program"]), st.sampled_from(["", "add", "a.b(", "\x00"]))
def test_extraction_returns_code_text_for_any_completion(text: str, mode: str, entry_point: str) -> None:
    code = extract_code(text, entry_point, mode)  # type: ignore[arg-type]
    assert isinstance(code, str) and code.endswith("\n")
    assert len(code) <= len(text) + 2


HOSTILE_COMPLETIONS = [
    "    return None\x00\n",
    "    return '\udcff'\n",  # written to the samples file as the JSON escape \udcff
    "    return " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "    x = 1" + "0" * 5000 + "\n    return x\n",
    "```python\n" + "x" * 100_000 + "\n```",
]


def test_check_code_judges_hostile_completions_and_completes(tmp_path: Path) -> None:
    from assay.code.score import load_problems

    task_id, problem = next(iter(load_problems("example").items()))
    rows = [{"task_id": task_id, "completion": c} for c in [*HOSTILE_COMPLETIONS, problem.reference or ""]]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = subprocess.run(assay_cmd("check-code", str(samples), "--problems", "example", "--k", "1"),
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = [json.loads(line) for line in (tmp_path / "samples.jsonl_results.jsonl").read_text().splitlines()]
    assert [r["passed"] for r in results] == [False] * len(HOSTILE_COMPLETIONS) + [True]
    assert [r["completion"] for r in results] == [r["completion"] for r in rows]  # read back as written
    assert all(r["result"].startswith("failed") for r in results[:-1])
