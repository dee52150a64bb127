"""`--batch-size auto` on the real model: it picks one of the timed candidates, and scores do not change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assay.models.hf_autobatch import CPU_CANDIDATES


@pytest.mark.integration
def test_auto_batch_size_is_a_candidate_and_scores_equal_fixed(data_dir: Path) -> None:
    from assay import pipeline
    from assay.config import ModelSpec
    from assay.models.backends import load_model
    from assay.tasks.build import build_samples, load_task_data
    from assay.tasks.catalog import select

    spec = select(("arc_easy",), ()).tasks[0]
    samples = build_samples(spec, load_task_data(spec, data_dir, 12), 0, 1234)
    requests = pipeline.loglikelihood_requests(samples)
    model: Any = load_model(ModelSpec(name="smollm2", model="smollm2-135m", args={"batch_size": "auto"}))
    auto = model.loglikelihood(requests)
    chosen = model.batch_size
    assert chosen in CPU_CANDIDATES
    model.batch_size = 2 if chosen != 2 else 4  # a different fixed size: the packing into batches changes
    fixed = model.loglikelihood(requests)
    for a, f in zip(auto, fixed, strict=True):
        assert a.logprob == pytest.approx(f.logprob, abs=1e-4)
        assert a.n_tokens == f.n_tokens
