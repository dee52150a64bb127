"""Loglikelihood scoring for the HF backend, with each shared context forwarded once.

lm-evaluation-harness forwards `context + continuation` once per choice. Here the requests that share a
context are packed into one row: the context once, then every choice's continuation (all but its last
token), with a 4-D attention mask so each continuation sees the context and itself but not its siblings,
and position ids that restart after the context. One forward pass gives every choice's log-probabilities,
identical (up to float rounding) to scoring them one by one.

Two more savings, neither changing what any token attends to:
- a prefix shared by every row of a call (MMLU's subject line, a first-n few-shot block) is forwarded once
  and its key/value cache is reused by every batch;
- rows are bin-packed (first fit, longest first) into sequences as wide as the longest row, each row
  attending only to itself, so a batch carries almost no padding; `batch_size` counts such sequences.
Logits are computed only where a continuation token is predicted (`logits_to_keep`).

Tokenization follows lm-evaluation-harness: trailing whitespace of the context moves to the continuation;
the continuation's tokens are those of tokenize(context + continuation) after len(tokenize(context)).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from assay.models.hf_prefix import KV, PrefixMemo, cache_keyword, prefix_groups, shares_prefix_in_place, sliding_window
from assay.records import LoglikelihoodRequest, LoglikelihoodResponse

MIN_SHARED_PREFIX = 8  # tokens; below this a separate prefix pass costs more than it saves
BIN_WIDTH = int(os.environ.get("ASSAY_BIN_WIDTH", "256"))  # least width of a packed sequence, in tokens: short rows
# share sequences, so a batch does more work per forward pass (each pass has a fixed cost: hundreds of small
# kernels, each a synchronisation of the CPU threads, slow on a busy machine)


@dataclass(frozen=True)
class Encoded:
    context: tuple[int, ...]
    continuation: tuple[int, ...]


@dataclass(frozen=True)
class PackedRow:
    """One context and the continuations scored after it: the unit of one forward row."""

    context: tuple[int, ...]
    members: tuple[tuple[int, tuple[int, ...]], ...]  # (request index, continuation tokens)

    @property
    def length(self) -> int:
        return len(self.context) + sum(len(c) - 1 for _, c in self.members)


def encode_pair(encode: Callable[[str], list[int]], prefix_id: int, req: LoglikelihoodRequest) -> Encoded:
    """Context/continuation token ids exactly as lm-evaluation-harness splits them."""
    context, continuation = req.context, req.continuation
    if not context:
        return Encoded((prefix_id,), tuple(encode(continuation)))
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        continuation = context[-n_spaces:] + continuation
        context = context[:-n_spaces]
    whole = encode(context + continuation)
    ctx = encode(context)
    return Encoded(tuple(ctx), tuple(whole[len(ctx) :]))


def rolling_windows(tokens: Sequence[int], prefix_id: int, max_length: int) -> list[Encoded]:
    """A whole text's tokens as (context, continuation) windows whose continuations cover every token once, as
    lm-evaluation-harness scores loglikelihood_rolling: the first window predicts the first `max_length` tokens
    after the start token, each later one the next `max_length` tokens after the `max_length` tokens before
    them (one token of context at least); the context holds only the tokens before the continuation."""
    tokens = tuple(tokens)
    windows: list[Encoded] = []
    done = 0
    while done < len(tokens):
        end = min(done + max_length, len(tokens))
        if done == 0:
            windows.append(Encoded((prefix_id,), tokens[:end]))
        else:
            windows.append(Encoded(tokens[max(0, end - max_length - 1) : done], tokens[done:end]))
        done = end
    return windows


def pack(encoded: Sequence[Encoded], max_length: int) -> list[PackedRow]:
    """Group requests by identical context tokens; a group too long for the model is split up."""
    groups: dict[tuple[int, ...], list[tuple[int, tuple[int, ...]]]] = {}
    for index, enc in enumerate(encoded):
        groups.setdefault(enc.context, []).append((index, enc.continuation))
    rows: list[PackedRow] = []
    for context, members in groups.items():
        row = PackedRow(context, tuple(members))
        if row.length <= max_length:
            rows.append(row)
            continue
        for member in members:  # too long together: one row each, left-truncated as lm-eval does
            whole = (context + member[1])[-(max_length + 1) :]
            keep = len(whole) - len(member[1])
            rows.append(PackedRow(tuple(whole[:keep]), (member,)))
    return rows


def bin_rows(rows: Sequence[PackedRow], prefix: int, min_width: int = 0) -> list[list[PackedRow]]:
    """First-fit-decreasing packing of rows (tokens after the prefix) into bins as wide as the longest row, or
    `min_width` if that is wider."""
    ordered = sorted(rows, key=lambda r: -r.length)
    if not ordered:
        return []
    width = max(ordered[0].length - prefix, min_width)
    bins: list[list[PackedRow]] = []
    room: list[int] = []
    for row in ordered:
        size = row.length - prefix
        for i, free in enumerate(room):
            if size <= free:
                bins[i].append(row)
                room[i] -= size
                break
        else:
            bins.append([row])
            room.append(width - size)
    return bins


def _bin_layout(
    rows: Sequence[PackedRow], prefix: int
) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Token ids, position ids, row number and segment (-1 = context) per token, and positions to keep."""
    ids: list[int] = []
    pos: list[int] = []
    row_of: list[int] = []
    seg: list[int] = []
    keep: list[int] = []
    for r, row in enumerate(rows):
        n_ctx = len(row.context)
        keep.append(len(ids) + n_ctx - prefix - 1)  # the last context token predicts each first token
        ids.extend(row.context[prefix:])
        pos.extend(range(prefix, n_ctx))
        row_of.extend([r] * (n_ctx - prefix))
        seg.extend([-1] * (n_ctx - prefix))
        for k, (_, cont) in enumerate(row.members):
            body = cont[:-1]
            keep.extend(range(len(ids), len(ids) + len(body)))
            ids.extend(body)
            pos.extend(range(n_ctx, n_ctx + len(body)))
            row_of.extend([r] * len(body))
            seg.extend([k] * len(body))
    return ids, pos, row_of, seg, keep


def batch_tensors(bins: Sequence[Sequence[PackedRow]], prefix: int, pad_id: int, dtype: torch.dtype,
                   prefix_columns: bool = True,
                   window: tuple[int | None, bool] = (None, False)) -> dict[str, Any]:  # fmt: skip
    """Model inputs for a batch of bins. With `prefix_columns` the mask also covers the `prefix` cached
    positions (all visible); without, it covers the batch's own tokens only (see hf_prefix.prefix_attention).

    `window` is hf_prefix.sliding_window's answer for the model: a custom mask is used as given by every layer,
    so sliding-window layers get a mask of their own that also hides keys `window` or more positions back
    (a dict of masks by layer kind when full-attention layers sit beside them)."""
    layouts = [_bin_layout(b, prefix) for b in bins]
    width = max(len(lay[0]) for lay in layouts)
    cols = prefix if prefix_columns else 0
    ids = torch.full((len(bins), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(bins), width), dtype=torch.long)
    allowed = torch.zeros((len(bins), width, cols + width), dtype=torch.bool)
    keep = torch.zeros((len(bins), width), dtype=torch.bool)
    for b, (b_ids, b_pos, b_row, b_seg, b_keep) in enumerate(layouts):
        n = len(b_ids)
        ids[b, :n] = torch.tensor(b_ids)
        pos[b, :n] = torch.tensor(b_pos)
        row_t, seg_t = torch.tensor(b_row), torch.tensor(b_seg)
        causal = torch.ones((n, n), dtype=torch.bool).tril()
        # a key is visible if it is in the query's row and is context or in the query's own segment
        same = (row_t[None, :] == row_t[:, None]) & (
            (seg_t[None, :] == -1) | (seg_t[None, :] == seg_t[:, None])
        )
        allowed[b, :n, :cols] = True
        allowed[b, :n, cols : cols + n] = causal & same
        if n < width:  # padding queries attend to themselves only, so softmax stays finite
            idx = torch.arange(n, width)
            allowed[b, idx, cols + idx] = True
        keep[b, torch.tensor(b_keep)] = True

    def additive(visible: torch.Tensor) -> torch.Tensor:
        return torch.zeros(visible.shape, dtype=dtype).masked_fill(~visible, torch.finfo(dtype).min)[:, None]

    mask: Any = additive(allowed)
    size, mixed = window
    if size is not None:
        key_pos = torch.cat([torch.arange(cols).expand(len(bins), cols), pos], dim=1)
        near = (pos[:, :, None] - key_pos[:, None, :]) < size  # padding (position 0) still sees itself
        slid = additive(allowed & near)
        mask = {"full_attention": mask, "sliding_attention": slid} if mixed else slid
    return {"input_ids": ids, "position_ids": pos, "attention_mask": mask, "logits_to_keep": keep}


def _to_device(inputs: dict[str, Any], device: str) -> dict[str, Any]:
    """The model inputs on `device` (an attention mask may be a dict of masks by layer kind)."""
    return {k: {kind: m.to(device) for kind, m in v.items()} if isinstance(v, dict) else v.to(device)
            for k, v in inputs.items()}  # fmt: skip


def _row_results(row: PackedRow, logprobs: torch.Tensor) -> list[tuple[int, LoglikelihoodResponse]]:
    """Each member's continuation log-probabilities; logprobs row 0 is the last context token, then bodies."""
    out = []
    offset = 1
    for index, cont in row.members:
        positions = [0] + list(range(offset, offset + len(cont) - 1))
        offset += len(cont) - 1
        rows = logprobs[positions]  # (len(cont), vocab)
        targets = torch.tensor(cont)
        picked = rows.gather(1, targets[:, None]).squeeze(1)
        greedy = bool((rows.argmax(dim=-1) == targets).all())
        response = LoglikelihoodResponse(
            logprob=float(picked.double().sum()), is_greedy=greedy, n_tokens=len(cont)
        )
        out.append((index, response))
    return out


def forward(model: Any, tensors: dict[str, Any], cache: KV | None, in_place: bool = False) -> torch.Tensor:
    """Logits at the kept positions, flattened in row-major order: (kept positions, vocab).

    `in_place`: the prefix `cache` is read by hf_prefix.prefix_attention (the mask has no prefix columns);
    otherwise it is expanded into a DynamicCache (the mask covers it)."""
    kwargs: dict[str, Any] = {"use_cache": False}
    if cache is not None and in_place:
        kwargs["prefix_kv"] = cache
    elif cache is not None:
        from transformers import DynamicCache

        n = tensors["input_ids"].shape[0]
        # expand() shares the prefix's memory across the batch; the model's cat() makes the per-batch copy
        kwargs = {"use_cache": True, cache_keyword(model): DynamicCache(
            ddp_cache_data=[(k.expand(n, -1, -1, -1), v.expand(n, -1, -1, -1)) for k, v in cache]
        )}  # fmt: skip
    with torch.inference_mode():
        logits = model(**tensors, **kwargs).logits
    if logits.ndim == 3:  # a model that ignores a boolean logits_to_keep returns every position
        logits = logits[tensors["logits_to_keep"]]
    return logits


def score_rows(
    model: Any,
    rows: Sequence[PackedRow],
    batch_size: int,
    pad_id: int,
    device: str,
    on_batch: Callable[[list[tuple[int, LoglikelihoodResponse]], int], None],
    counters: dict[str, int | float] | None = None,
    memo: PrefixMemo | None = None,
) -> int:
    """Forward the rows in bin-packed batches; report results per batch. Returns tokens forwarded.

    Rows are first split into groups that share a prompt prefix (see hf_prefix.prefix_groups); each group's
    prefix is forwarded once, or not at all when `memo` holds it from the previous call. `counters`, if given,
    gets "padded_tokens" (batch width x sequences, what the model really computed) and "prefix_tokens" (the
    shared prefixes forwarded) added.
    """
    counts = counters if counters is not None else {}
    memo = memo or PrefixMemo()
    tokens = 0
    for prefix, members in prefix_groups([r.context for r in rows], MIN_SHARED_PREFIX):
        group = [rows[i] for i in members]
        cache = None
        if prefix:
            cache, _, fresh = memo.get(model, group[0].context[:prefix], device)
            tokens += prefix if fresh else 0
            counts["prefix_tokens"] = counts.get("prefix_tokens", 0) + (prefix if fresh else 0)
            counts["padded_tokens"] = counts.get("padded_tokens", 0) + (prefix if fresh else 0)
        tokens += _score_group(model, group, prefix, cache, batch_size, pad_id, device, on_batch, counts)
    return tokens


def _score_group(model: Any, rows: Sequence[PackedRow], prefix: int, cache: KV | None, batch_size: int,
                 pad_id: int, device: str, on_batch: Callable[[list[tuple[int, LoglikelihoodResponse]], int], None],
                 counts: dict[str, int | float]) -> int:  # fmt: skip
    """Score rows that share their first `prefix` tokens (whose key/values are `cache`); tokens forwarded."""
    dtype = next(model.parameters()).dtype
    in_place = cache is not None and shares_prefix_in_place(model)
    window = sliding_window(model.config)
    tokens = 0
    bins = bin_rows(rows, prefix, BIN_WIDTH)
    for start in range(0, len(bins), batch_size):
        batch = bins[start : start + batch_size]
        inputs = batch_tensors(batch, prefix, pad_id, dtype, prefix_columns=not in_place, window=window)
        tensors = _to_device(inputs, device)
        logprobs = torch.log_softmax(forward(model, tensors, cache, in_place).float().cpu(), dim=-1)
        results: list[tuple[int, LoglikelihoodResponse]] = []
        offset = 0
        for row in (row for b in batch for row in b):
            n_keep = row.length - len(row.context) + 1
            results.extend(_row_results(row, logprobs[offset : offset + n_keep]))
            offset += n_keep
        tokens += sum(r.length - prefix for b in batch for r in b)
        counts["padded_tokens"] += int(tensors["input_ids"].numel())
        on_batch(results, sum(len(r.members) for b in batch for r in b))
    return tokens
