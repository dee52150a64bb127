"""Loglikelihood scoring for the HF backend, with each shared context forwarded once.

lm-evaluation-harness forwards `context + continuation` once per choice. Here the requests that share a
context are packed into one row: the context once, then every choice's continuation (all but its last
token), with a 4-D attention mask so each continuation sees the context and itself but not its siblings,
and position ids that restart after the context. One forward pass gives every choice's log-probabilities,
identical (up to float rounding) to scoring them one by one. Rows are sorted by length and batched.

Tokenization follows lm-evaluation-harness: trailing whitespace of the context moves to the continuation;
the continuation's tokens are those of tokenize(context + continuation) after len(tokenize(context)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from assay.records import LoglikelihoodRequest, LoglikelihoodResponse


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


def _row_layout(row: PackedRow) -> tuple[list[int], list[int], list[int]]:
    """Input ids, position ids, and for each token the index of the segment it belongs to (-1 = context)."""
    ids = list(row.context)
    pos = list(range(len(row.context)))
    seg = [-1] * len(row.context)
    for k, (_, cont) in enumerate(row.members):
        body = cont[:-1]
        ids.extend(body)
        pos.extend(range(len(row.context), len(row.context) + len(body)))
        seg.extend([k] * len(body))
    return ids, pos, seg


def _batch_tensors(rows: Sequence[PackedRow], pad_id: int, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    width = max(r.length for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    allowed = torch.zeros((len(rows), width, width), dtype=torch.bool)
    for b, row in enumerate(rows):
        r_ids, r_pos, r_seg = _row_layout(row)
        n = len(r_ids)
        ids[b, :n] = torch.tensor(r_ids)
        pos[b, :n] = torch.tensor(r_pos)
        seg = torch.tensor(r_seg)
        causal = torch.ones((n, n), dtype=torch.bool).tril()
        # a key is visible if it is context, or in the query's own segment (causally)
        same = (seg[None, :] == -1) | (seg[None, :] == seg[:, None])
        allowed[b, :n, :n] = causal & same
        if n < width:  # padding queries attend to themselves only, so softmax stays finite
            idx = torch.arange(n, width)
            allowed[b, idx, idx] = True
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    # logits are needed only from each row's last context token on: skip the vocabulary projection before it
    keep_n = max(r.length - len(r.context) + 1 for r in rows)
    keep = torch.stack([
        (len(r.context) - 1 + torch.arange(keep_n)).clamp(max=r.length - 1) for r in rows
    ])  # fmt: skip
    return {"input_ids": ids, "position_ids": pos, "attention_mask": mask[:, None, :, :], "logits_to_keep": keep}


def _row_results(row: PackedRow, logits: torch.Tensor) -> list[tuple[int, LoglikelihoodResponse]]:
    """Each member's continuation log-probabilities; logits column c holds position len(context) - 1 + c."""
    out = []
    offset = 1
    for index, cont in row.members:
        positions = [0] + list(range(offset, offset + len(cont) - 1))
        offset += len(cont) - 1
        rows = torch.log_softmax(logits[positions].float(), dim=-1)  # (len(cont), vocab)
        targets = torch.tensor(cont)
        picked = rows.gather(1, targets[:, None]).squeeze(1)
        greedy = bool((rows.argmax(dim=-1) == targets).all())
        out.append((index, LoglikelihoodResponse(logprob=float(picked.double().sum()), is_greedy=greedy, n_tokens=len(cont))))
    return out


def score_rows(
    model: Any,
    rows: Sequence[PackedRow],
    batch_size: int,
    pad_id: int,
    device: str,
    on_batch: Callable[[list[tuple[int, LoglikelihoodResponse]], int], None],
    counters: dict[str, int] | None = None,
) -> int:
    """Forward the rows in length-sorted batches; report results per batch. Returns tokens forwarded.

    `counters`, if given, gets "padded_tokens" (batch width x rows, what the model really computed) added.
    """
    order = sorted(range(len(rows)), key=lambda i: -rows[i].length)
    dtype = next(model.parameters()).dtype
    tokens = 0
    for start in range(0, len(order), batch_size):
        batch = [rows[i] for i in order[start : start + batch_size]]
        tensors = {k: v.to(device) for k, v in _batch_tensors(batch, pad_id, dtype).items()}
        with torch.inference_mode():
            logits = model(**tensors, use_cache=False).logits
        logits = logits.cpu()
        results: list[tuple[int, LoglikelihoodResponse]] = []
        for b, row in enumerate(batch):
            results.extend(_row_results(row, logits[b]))
        tokens += sum(r.length for r in batch)
        if counters is not None:
            counters["padded_tokens"] = counters.get("padded_tokens", 0) + int(tensors["input_ids"].numel())
        on_batch(results, sum(len(r.members) for r in batch))
    return tokens
