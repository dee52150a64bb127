"""`--batch-size auto` for the HF backend.

On CUDA the answer is the largest batch that fits, as lm-evaluation-harness's `auto` finds it: try the
widest sequences of the call at a large batch and halve on out-of-memory. On CPU memory is rarely the
limit and larger batches are not always faster (cache pressure, thread scheduling), so a few candidate
sizes are timed on a slice of the real sequences and the one with the lowest time per token wins.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import torch

from assay.models.hf_score import PackedRow, batch_tensors, bin_rows, forward

CPU_CANDIDATES = (1, 2, 4, 8, 16)
CUDA_START = 64  # as lm-eval's default max batch size
SLICE = 32  # at most this many sequences are timed on CPU


def fastest_batch_size(hf_model: Any, rows: Sequence[PackedRow]) -> int:
    """The batch size to use for `rows` (one scoring call's packed rows) on `hf_model`'s device."""
    bins = bin_rows(rows, 0)
    if not bins:
        return 1
    if str(hf_model.device).startswith("cuda"):
        return _largest_that_fits(hf_model, bins)
    return _fastest_on_cpu(hf_model, bins[:SLICE])


def _time_per_token(hf_model: Any, bins: Sequence[Sequence[PackedRow]], dtype: torch.dtype) -> float:
    tensors = batch_tensors(bins, 0, hf_model.pad_id, dtype)
    started = time.perf_counter()
    forward(hf_model.model, tensors, None)
    return (time.perf_counter() - started) / tensors["input_ids"].numel()


def _fastest_on_cpu(hf_model: Any, bins: Sequence[Sequence[PackedRow]]) -> int:
    """Time each candidate on the (longest-first) bins; the first forward is a warm-up, not counted."""
    dtype = next(hf_model.model.parameters()).dtype
    candidates = [b for b in CPU_CANDIDATES if b <= len(bins)] or [1]
    _time_per_token(hf_model, bins[:1], dtype)  # first call pays one-time setup costs
    timings: dict[int, float] = {}
    for size in candidates:
        # the same (widest) sequences for every candidate, repeated to fill the batch, so only size varies
        batch = [bins[i % len(bins)] for i in range(size)]
        timings[size] = _time_per_token(hf_model, batch, dtype)
    # ties (within 3%, about timer noise) go to the larger size: fewer Python round trips per token
    best = min(timings.values())
    return max(size for size, t in timings.items() if t <= best * 1.03)


def _largest_that_fits(hf_model: Any, bins: Sequence[Sequence[PackedRow]]) -> int:
    """Halve from CUDA_START until a batch of the widest sequence runs without running out of memory."""
    dtype = next(hf_model.model.parameters()).dtype
    size = CUDA_START
    while size > 1:
        inputs = batch_tensors([bins[0]] * size, 0, hf_model.pad_id, dtype)
        tensors = {k: v.to(hf_model.device) for k, v in inputs.items()}
        try:
            forward(hf_model.model, tensors, None)
            break
        except torch.cuda.OutOfMemoryError:
            size //= 2
        finally:
            del tensors
            torch.cuda.empty_cache()
    return size
