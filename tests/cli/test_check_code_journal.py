"""check-code's journal is keyed by an inputs digest (samples file + settings), not a model fingerprint; a
journal written before the rename (first line `{"fingerprint": ...}`) still resumes."""

from __future__ import annotations

import json
from pathlib import Path

from assay.cli.check_code import Journal, inputs_digest


def test_journal_resumes_under_the_new_and_the_former_key(tmp_path: Path) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"task_id": "HumanEval/0", "completion": "    return True\\n"}\n')
    digest = inputs_digest(samples, "humaneval", None)
    assert digest != inputs_digest(samples, "humaneval", 2.0)  # a setting changes it
    verdict = json.dumps({"i": 0, "result": "passed", "passed": True}) + "\n"
    for key in ("inputs_digest", "fingerprint"):
        path = tmp_path / f"{key}.partial"
        path.write_text(json.dumps({key: digest}) + "\n" + verdict)
        journal = Journal(path, digest, 1)
        journal.close(finished=False)
        assert journal.done == {0: {"result": "passed", "passed": True}}, key
    other = Journal(tmp_path / "fingerprint.partial", inputs_digest(samples, "mbpp", None), 1)
    other.close(finished=False)
    assert other.done == {}  # other inputs: started afresh, under the new key
    assert json.loads((tmp_path / "fingerprint.partial").read_text().splitlines()[0]) == {
        "inputs_digest": inputs_digest(samples, "mbpp", None)
    }
