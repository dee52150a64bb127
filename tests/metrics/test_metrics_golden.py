"""Golden cases per metric (tests/metrics/golden_metrics.jsonl): hand-checked values and values from the
reference implementations (sacrebleu for BLEU/chrF, rouge-score for ROUGE-L), each with a tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.metrics import METRICS, get_metric

GOLDEN = [
    json.loads(line)
    for line in (Path(__file__).parent / "golden_metrics.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", GOLDEN, ids=lambda c: f"{c['metric']}:{c['prediction'][:20]!r}")
def test_golden_case(case: dict) -> None:
    spec = get_metric(case["metric"])
    value = spec(case["prediction"], case["reference"], **case.get("options", {}))
    if case["expected"] is None:
        assert value is None
    else:
        assert value == pytest.approx(case["expected"], abs=case["tol"])


def test_every_metric_has_golden_cases() -> None:
    covered = {case["metric"] for case in GOLDEN}
    assert covered == set(METRICS)
