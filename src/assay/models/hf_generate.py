"""Generation for the HF backend: one batched decoding loop for greedy and seeded sampled rows.

Every request becomes rows (n rows when sampled, one row when greedy: greedy text is the same n times). Rows of
any settings share a batch: the prompts are left-padded and prefilled once with explicit position ids and
attention mask, then each step feeds one token per row through the KV cache. Each sampled row draws from its
own `torch.Generator`, seeded from (request seed, sample index), and picks its token by inverse CDF over the
vocabulary in id order, so a row's sample does not depend on which rows share its batch or on the batch size.
A row stops at EOS, at a stop sequence or at its max_tokens; finished rows leave the batch (their cache rows are
dropped), and the batch ends when no row is left.

A prompt prefix shared by the rows (a task's few-shot block, the n samples of one prompt) is forwarded once
(hf_prefix): every row's cache then holds only its own tokens, and each step reads the prefix's key/values
once for the whole batch instead of once per row. Stop sequences are looked for in the text each step adds
(plus the longest stop's length before it), decoded incrementally; the full text is decoded once, at the end.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from assay.errors import ModelError
from assay.models.base import Progress
from assay.models.hf_cache import decoding_cache
from assay.models.hf_prefix import (
    KV,
    PrefixMemo,
    cache_keyword,
    prefix_groups,
    returned_cache,
    shares_prefix_in_place,
)
from assay.records import GenerationRequest, GenerationResponse

if TYPE_CHECKING:
    from assay.models.hf import HFModel

DEFAULT_BATCH = 8
MIN_SHARED_PREFIX = 32  # tokens; a shorter shared prefix is left in each row's own prompt


PLAIN_TURN = "\nUser:"  # a base model's transcript (no chat template): its reply ends where it starts a user turn


def render_prompt(tokenizer: Any, req: GenerationRequest) -> str:
    """The text the model continues: the chat template applied when asked, else the raw prompt.

    A model without a chat template (a base model such as Gemma-3-270M) gets the conversation as a plain
    transcript ("System: ...", "User: ...", "Assistant: ..." lines, ending in "Assistant:"), the way base models
    are prompted for chat (FastChat's MT-Bench does the same for models it has no template for); its reply is
    cut where it starts the next user turn (see stops)."""
    if not req.chat:
        return req.prompt
    messages = [{"role": role, "content": content} for role, content in req.messages] or [
        {"role": "user", "content": req.prompt}
    ]
    if not getattr(tokenizer, "chat_template", None):
        turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
        return "\n".join(turns) + "\nAssistant:"
    return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))


def stops(tokenizer: Any, req: GenerationRequest) -> tuple[str, ...]:
    """A request's stop sequences, and the next user turn of a plain transcript (render_prompt)."""
    if req.chat and not getattr(tokenizer, "chat_template", None):
        return (*req.stop, PLAIN_TURN)
    return req.stop


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Text up to the first stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def row_seed(seed: int | None, j: int) -> int:
    """The generator seed of sample j of a request: a hash, so (seed, j) pairs never collide by arithmetic."""
    digest = hashlib.sha256(f"assay-gen:{seed if seed is not None else 0}:{j}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


@dataclass(eq=False)
class _Row:
    """One sequence being decoded: sample `j` of request `req`."""

    req: int
    j: int
    prompt: list[int]
    settings: GenerationRequest
    generator: torch.Generator | None  # None: greedy
    stops: tuple[str, ...] = ()  # the request's stop sequences (see stops())
    new: list[int] = field(default_factory=list)
    text: str = ""  # the new text so far (complete characters only while decoding), then the final text
    reason: str = ""  # "" while decoding, then "stop" or "length"
    _read: int = 0  # tokens of `new` already in `text`
    _lead: int = 0  # tokens before _read that are decoded again as context (a token's text may depend on them)

    @property
    def budget(self) -> int:
        return self.settings.max_tokens


def sample_token(logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator) -> int:
    """One token from `logits` (1-D) at `temperature` within the top-p nucleus, using one draw of `generator`.

    The draw is mapped through the cumulative distribution in token-id order rather than in sorted order:
    sorting would let rounding noise swap near-equal tokens and change which one a given draw lands on.
    """
    # on the CPU in float64: the generator lives there, and the cumulative sum over the vocabulary stays exact
    probs = torch.softmax(logits.detach().to("cpu", torch.float64) / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True, stable=True)
        # keep the smallest set whose mass reaches top_p: a token is kept if the mass before it is < top_p
        keep_sorted = (torch.cumsum(sorted_probs, dim=-1) - sorted_probs) < top_p
        keep_sorted[0] = True  # top_p <= 0 still leaves the most likely token
        keep = torch.zeros_like(keep_sorted).scatter(0, order, keep_sorted)
        probs = probs * keep
    cdf = torch.cumsum(probs, dim=-1)
    u = torch.rand((), generator=generator, dtype=torch.float64) * cdf[-1]
    index = int(torch.searchsorted(cdf, u.reshape(1), right=True)[0])
    return min(index, probs.shape[0] - 1)


def _pick(logits: torch.Tensor, rows: Sequence[_Row]) -> list[int]:
    """Next token per row: argmax for greedy rows, a seeded sample for the others."""
    greedy = torch.argmax(logits, dim=-1).tolist()
    picks = []
    for i, row in enumerate(rows):
        if row.generator is None:
            picks.append(int(greedy[i]))
        else:
            s = row.settings
            picks.append(sample_token(logits[i], s.temperature, s.top_p, row.generator))
    return picks


def _added_text(row: _Row, tokenizer: Any) -> str:
    """The text the tokens since the last call add, decoded with a few tokens before them as context; '' while
    the newest tokens end inside a multi-byte character (their text is taken once it is complete)."""
    before = tokenizer.decode(row.new[row._lead : row._read], skip_special_tokens=True)
    after = tokenizer.decode(row.new[row._lead :], skip_special_tokens=True)
    if after.endswith("\ufffd") or not after.startswith(before):
        return ""
    row._lead, row._read = max(row._read - 4, 0), len(row.new)
    return after[len(before) :]


def _advance(row: _Row, token: int, tokenizer: Any, eos: set[int]) -> None:
    """Append `token` to `row` and decide whether the row is finished; the final text is decoded whole."""
    row.new.append(token)
    if token in eos:
        row.reason = "stop"
        row.text = tokenizer.decode(row.new[:-1], skip_special_tokens=True)
        return
    stops = [s for s in row.stops if s]
    if stops:
        added = _added_text(row, tokenizer)
        # only a stop that ends in the added text is new: look at the added text and the longest stop before it
        tail = row.text[max(len(row.text) - max(map(len, stops)) + 1, 0) :]
        row.text += added
        if added and cut_at_stop(tail + added, stops)[1]:
            row.reason = "stop"
            row.text = cut_at_stop(tokenizer.decode(row.new, skip_special_tokens=True), stops)[0]
            return
    if len(row.new) >= row.budget:
        row.text, stopped = cut_at_stop(tokenizer.decode(row.new, skip_special_tokens=True), stops)
        row.reason = "stop" if stopped else "length"


@dataclass(frozen=True)
class _Shared:
    """The prompt prefix a batch's rows share: its length and key/values (length 0: nothing shared)."""

    length: int = 0
    kv: KV | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"prefix_kv": self.kv} if self.kv is not None else {}


def _prefill(
    hf: HFModel, rows: Sequence[_Row], pad: int, keyword: str, shared: _Shared
) -> tuple[Any, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward the left-padded prompts (after the shared prefix) once; returns (cache, attention mask, last
    positions, last logits)."""

    prompts = [r.prompt[shared.length :] for r in rows]
    width = max(len(p) for p in prompts)
    ids = torch.full((len(rows), width), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[i, width - len(prompt) :] = 1
    # positions count real tokens only, so a padded row sees the same positions as it would alone
    positions = (mask.cumsum(dim=-1) - 1).clamp(min=0) + shared.length
    cache = {keyword: decoding_cache(hf.model.config)}
    out = hf.model(input_ids=ids.to(hf.device), attention_mask=mask.to(hf.device),
                   position_ids=positions.to(hf.device), use_cache=True, logits_to_keep=1, **cache,
                   **shared.kwargs())  # fmt: skip
    _count(hf, int(ids.numel()), int(ids.numel() - mask.sum()))
    return returned_cache(out), mask.to(hf.device), positions[:, -1].to(hf.device), out.logits[:, -1, :]


def _count(hf: HFModel, tokens: int, padding: int = 0, seconds: float | None = None) -> None:
    hf.count(forward_tokens=tokens, padded_tokens=padding, forward_passes=1)
    if seconds is not None:  # a decoding step
        hf.count(decode_steps=1, seconds_decode=seconds)


@dataclass(eq=False)
class _Batch:
    """Rows being decoded together: their cache (own tokens, left-padded), attention mask over it, the last
    position of each row and the logits that pick each row's next token."""

    rows: list[_Row]
    cache: Any
    mask: torch.Tensor
    last_pos: torch.Tensor
    logits: torch.Tensor


def _settle(hf: HFModel, batch: _Batch, eos: set[int], on_done: Callable[[_Row], None]) -> _Batch | None:
    """Pick and append each row's next token; finished rows leave the batch (None when none is left)."""
    for row, token in zip(batch.rows, _pick(batch.logits.float(), batch.rows), strict=True):
        _advance(row, token, hf.tokenizer, eos)
        if row.reason:
            on_done(row)
    keep = [i for i, row in enumerate(batch.rows) if not row.reason]
    if not keep:
        return None
    if len(keep) == len(batch.rows):
        return batch
    index = torch.tensor(keep, dtype=torch.long, device=batch.mask.device)
    batch.cache.batch_select_indices(index)
    mask = batch.mask[index]
    # columns no remaining row attends to (left padding of rows that left) are dropped
    first = int(mask.any(dim=0).nonzero()[0])
    if first:
        for layer in batch.cache.layers:
            layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
    return _Batch([batch.rows[i] for i in keep], batch.cache, mask[:, first:], batch.last_pos[index],
                  batch.logits[index])  # fmt: skip


def _join(a: _Batch, b: _Batch) -> _Batch:
    """One batch of both: the shorter cache is left-padded (masked) to the other's length."""
    width = max(a.mask.shape[1], b.mask.shape[1])

    def left_pad(t: torch.Tensor, dim: int) -> torch.Tensor:
        missing = width - t.shape[dim]
        if not missing:
            return t
        shape = list(t.shape)
        shape[dim] = missing
        return torch.cat([torch.zeros(shape, dtype=t.dtype, device=t.device), t], dim=dim)

    for la, lb in zip(a.cache.layers, b.cache.layers, strict=True):
        la.keys = torch.cat([left_pad(la.keys, 2), left_pad(lb.keys, 2)])
        la.values = torch.cat([left_pad(la.values, 2), left_pad(lb.values, 2)])
    mask = torch.cat([left_pad(a.mask, 1), left_pad(b.mask, 1)])
    return _Batch(a.rows + b.rows, a.cache, mask, torch.cat([a.last_pos, b.last_pos]), torch.cat([a.logits, b.logits]))


def _decode(hf: HFModel, rows: list[_Row], eos: set[int], shared: _Shared, size: int,
            on_done: Callable[[_Row], None]) -> None:  # fmt: skip
    """Decode `rows` with at most `size` in flight: a row that finishes leaves at once and the next waiting rows
    join (prefilled together, then merged), so the batch stays full; results are written into the rows."""
    keyword, waiting = cache_keyword(hf.model), list(rows)
    batch: _Batch | None = None
    while waiting or batch:
        while waiting and (batch is None or len(batch.rows) < size):
            new = waiting[: size - (len(batch.rows) if batch else 0)]
            del waiting[: len(new)]
            joined = _settle(hf, _Batch(new, *_prefill(hf, new, int(hf.pad_id), keyword, shared)), eos, on_done)
            batch = joined if batch is None or joined is None else _join(batch, joined)
        if batch is None:
            return
        started = time.perf_counter()
        step = torch.tensor([[row.new[-1]] for row in batch.rows], dtype=torch.long, device=hf.device)
        batch.mask = torch.cat([batch.mask, torch.ones_like(batch.mask[:, :1])], dim=-1)
        batch.last_pos = batch.last_pos + 1
        out = hf.model(input_ids=step, attention_mask=batch.mask, position_ids=batch.last_pos[:, None],
                       use_cache=True, **{keyword: batch.cache}, **shared.kwargs())  # fmt: skip
        batch.cache, batch.logits = returned_cache(out), out.logits[:, -1, :]
        _count(hf, len(batch.rows), seconds=time.perf_counter() - started)
        batch = _settle(hf, batch, eos, on_done)


def _eos_ids(hf: HFModel) -> set[int]:
    """Token ids that end a generation: the generation config's (an int or a list) and the tokenizer's."""
    ids: set[int] = set()
    configured = getattr(getattr(hf.model, "generation_config", None), "eos_token_id", None)
    for value in (configured, hf.tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list | tuple):
            ids.update(int(v) for v in value)
    return ids


def _prompt_ids(hf: HFModel, req: GenerationRequest) -> list[int]:
    """Token ids of the rendered prompt, left-truncated so that prompt plus max_tokens fits the context."""
    add_special = hf.add_special_tokens if hf.add_special_tokens is not None else not req.chat
    ids = list(hf.tokenizer(render_prompt(hf.tokenizer, req), add_special_tokens=add_special)["input_ids"])
    if not ids:
        ids = [int(hf.prefix_id)]  # an empty prompt continues from the start-of-text token
    room = max(1, int(hf.max_length) - req.max_tokens)
    return ids[-room:]


def _rows(hf: HFModel, requests: Sequence[GenerationRequest]) -> list[_Row]:
    rows = []
    for i, req in enumerate(requests):
        if req.max_tokens < 1:
            raise ModelError(f"max_tokens must be at least 1, got {req.max_tokens}", hint="set max_tokens >= 1")
        prompt = _prompt_ids(hf, req)
        if req.temperature > 0:
            for j in range(req.n):
                gen = torch.Generator(device="cpu").manual_seed(row_seed(req.seed, j))
                rows.append(_Row(i, j, prompt, req, gen, stops(hf.tokenizer, req)))
        else:
            rows.append(_Row(i, 0, prompt, req, None, stops(hf.tokenizer, req)))
    return rows


def _response(req: GenerationRequest, rows: Sequence[_Row]) -> GenerationResponse:
    ordered = sorted(rows, key=lambda r: r.j)
    if req.temperature <= 0:
        # greedy decoding gives the same text n times; keep n copies so pass@k sees n outputs
        ordered = ordered * req.n
    return GenerationResponse(
        texts=tuple(r.text for r in ordered),
        finish_reasons=tuple(r.reason for r in ordered),
        n_tokens=tuple(len(r.new) for r in ordered),
    )


def _groups(hf: HFModel, rows: Sequence[_Row]) -> list[tuple[list[_Row], int]]:
    """(rows, shared prefix length) per group of rows that share a prompt prefix (when the model can read a
    prefix in place); in a group, longest prompts first (less padding), a request's rows adjacent."""
    groups = [(0, list(range(len(rows))))]
    if shares_prefix_in_place(hf.model):
        groups = prefix_groups([r.prompt for r in rows], MIN_SHARED_PREFIX)
    return [
        (sorted((rows[i] for i in members), key=lambda r: (-len(r.prompt), r.req, r.j)), length)
        for length, members in groups
    ]


def generate(hf: HFModel, requests: Sequence[GenerationRequest], progress: Progress | None) -> list[GenerationResponse]:
    """Responses in request order. Rows of all requests are batched together (see _batches)."""
    batch = int(hf.batch_size) if str(hf.batch_size).isdigit() else DEFAULT_BATCH
    rows = _rows(hf, requests)
    pending = Counter(r.req for r in rows)
    eos = _eos_ids(hf)
    memo: PrefixMemo = hf.prefix_memo

    def on_done(row: _Row) -> None:
        pending[row.req] -= 1
        if progress and pending[row.req] == 0:
            progress(1)

    with torch.inference_mode():
        for group, length in _groups(hf, rows):
            shared = _Shared()
            if length:
                kv, _, fresh = memo.get(hf.model, group[0].prompt[:length], hf.device)
                shared = _Shared(length, kv)
                if fresh:
                    _count(hf, length)
                    hf.count(prefix_tokens=length)
            _decode(hf, group, eos, shared, batch, on_done)
    by_request: list[list[_Row]] = [[] for _ in requests]
    for row in rows:
        by_request[row.req].append(row)
    return [_response(req, by_request[i]) for i, req in enumerate(requests)]
