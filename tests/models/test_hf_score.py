"""Packed scoring (shared prefix, bin packing) against plain one-request-at-a-time scoring (real model)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from assay.models.hf_prefix import prefix_groups, shared_prefix
from assay.models.hf_score import PackedRow, bin_rows
from tests.models.hf_resume import killed_then_resumed


def _row(context: tuple[int, ...], *conts: tuple[int, ...]) -> PackedRow:
    return PackedRow(context, tuple((i, c) for i, c in enumerate(conts)))


def test_shared_prefix_leaves_each_row_its_last_context_token() -> None:
    assert shared_prefix([(1, 2, 3, 4), (1, 2, 3, 5, 6), (1, 2, 3, 4, 7)]) == 3
    assert shared_prefix([(1, 2), (1, 2)]) == 1  # identical contexts keep one token
    assert shared_prefix([(1, 2, 3)]) == 0  # a single row has nothing to share
    assert shared_prefix([(1, 2), (5, 2)]) == 0


def test_prefix_groups_leave_out_the_rows_that_diverge_early() -> None:
    # as MMLU 5-shot drawn first-n from the evaluated split: rows 0 and 1 leave themselves out of the block
    head, shots = (7,) * 10, [tuple(range(100 * k, 100 * k + 30)) for k in range(4)]
    block = head + shots[0] + shots[1] + shots[2]
    contexts = [head + shots[1] + shots[2] + shots[3] + (5,), head + shots[0] + shots[2] + shots[3] + (6,)]
    contexts += [block + (q, q + 1) for q in range(1000, 1008)]
    groups = prefix_groups(contexts, 8)
    assert groups == [(0, [0, 1]), (len(block), list(range(2, 10)))]
    assert prefix_groups(contexts[2:], 8) == [(len(block), list(range(8)))]
    # a divergence that saves less than a pass costs is not split off
    assert prefix_groups([head + (1, 2), head + (1, 3), head + (4, 5)], 8) == [(10, [0, 1, 2])]
    assert prefix_groups([(1, 2, 3)], 8) == [(0, [0])]
    assert prefix_groups([], 8) == []


def test_bin_rows_fits_short_rows_together_and_loses_none() -> None:
    rows = [_row(tuple(range(n)), (1, 2)) for n in (10, 6, 4, 3, 2)]  # lengths 11, 7, 5, 4, 3
    bins = bin_rows(rows, 0)
    assert max(sum(r.length for r in b) for b in bins) <= 11
    assert sorted(r.length for b in bins for r in b) == [3, 4, 5, 7, 11]
    assert len(bins) == 3  # [11], [7, 4], [5, 3]


@pytest.mark.integration
def test_packed_scores_equal_one_by_one(data_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from assay import pipeline
    from assay.config import ModelSpec
    from assay.models.backends import load_model
    from assay.models.hf_score import encode_pair
    from assay.tasks.build import build_samples, load_task_data
    from assay.tasks.catalog import select

    model: Any = load_model(ModelSpec(name="smollm2", model="smollm2-135m", args={"batch_size": 3}))
    for task in ("mmlu_high_school_geography", "arc_easy"):  # with and without a shared prefix
        spec = select((task,), ()).tasks[0]
        samples = build_samples(spec, load_task_data(spec, data_dir, 4), 0, 1234)
        requests = pipeline.loglikelihood_requests(samples)
        before = model.stats.get("prefix_tokens", 0)
        with warnings.catch_warnings():  # e.g. a cache passed under transformers' deprecated keyword
            warnings.simplefilter("error", FutureWarning)
            packed = model.loglikelihood(requests)
        if task.startswith("mmlu"):
            assert model.stats["prefix_tokens"] - before >= 8  # the subject line was forwarded once
        for req, got in zip(requests, packed, strict=True):
            enc = encode_pair(model.encode, model.prefix_id, req)
            ids = torch.tensor([list(enc.context + enc.continuation)[:-1]])
            with torch.inference_mode():
                logprobs = torch.log_softmax(model.model(ids).logits[0].float(), dim=-1)
            n = len(enc.continuation)
            want = float(logprobs[-n:].gather(1, torch.tensor(enc.continuation)[:, None]).sum())
            assert got.logprob == pytest.approx(want, abs=1e-4), (task, req)
            assert got.n_tokens == n


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_killed_five_shot_run_resumes_to_the_same_scores(tmp_path: Path, data_dir: Path) -> None:
    # rows 0-4 have few-shot blocks of their own, the others share one (kept between chunks by the prefix memo)
    whole, resumed = killed_then_resumed(
        tmp_path, data_dir, "--tasks", "mmlu_high_school_geography", "--num-fewshot", "5", "--limit", "10",
        "--fewshot-split", "test",
    )  # fmt: skip
    assert [r["loglikelihoods"] for r in resumed] == [r["loglikelihoods"] for r in whole]
    assert len(whole) == 10
