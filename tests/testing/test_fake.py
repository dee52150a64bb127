"""The fake backend: deterministic answers, seeded failures, a real self-kill."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assay.config import ModelSpec
from assay.errors import ModelError, UsageError
from assay.models.backends import load_model
from assay.records import GenerationRequest, LoglikelihoodRequest
from assay.testing.fake import FakeModel

REQS = [LoglikelihoodRequest(context=f"Question {i}:", continuation=f" answer {i % 3}") for i in range(40)]


def test_registered_and_deterministic_across_order_and_batches() -> None:
    model = load_model(ModelSpec(model="fake", args={"seed": 3}))
    forward = model.loglikelihood(REQS)
    backward = FakeModel(seed=3).loglikelihood(list(reversed(REQS)))
    assert forward == list(reversed(backward))
    assert len({r.logprob for r in forward}) > 30  # answers differ between requests
    other_seed = FakeModel(seed=4).loglikelihood(REQS)
    assert [r.logprob for r in other_seed] != [r.logprob for r in forward]
    assert all(r.logprob < 0 and r.n_tokens >= 1 for r in forward)


def test_generation_is_stable_and_has_n_texts() -> None:
    req = GenerationRequest(prompt="Say something", n=3, max_tokens=8)
    first = FakeModel().generate([req])[0]
    assert first == FakeModel().generate([req])[0]
    assert len(first.texts) == 3 and all(t for t in first.texts)


def test_fail_rate_raises_model_error_for_the_same_requests_every_time() -> None:
    def failing(seed: int) -> list[int]:
        bad = []
        for i, req in enumerate(REQS):
            try:
                FakeModel(seed=seed, fail_rate=0.25).loglikelihood([req])
            except ModelError:
                bad.append(i)
        return bad

    assert failing(1) == failing(1)
    assert 3 <= len(failing(1)) <= 20


def test_bad_args_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown fake model argument"):
        FakeModel(sede=1)
    with pytest.raises(UsageError, match="fail_rate"):
        FakeModel(fail_rate=2)


def test_crash_after_kills_the_process() -> None:
    code = (
        "from assay.testing.fake import FakeModel\n"
        "from assay.records import LoglikelihoodRequest as R\n"
        "m = FakeModel(crash_after=2)\n"
        "m.loglikelihood([R(context='a', continuation='b')] * 2)\n"
        "print('two answered', flush=True)\n"
        "m.loglikelihood([R(context='a', continuation='c')])\n"
        "print('not reached')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9
    assert proc.stdout == "two answered\n"
