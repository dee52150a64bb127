"""Shared prompt prefixes for the HF backend: which rows share one, and forwarding it once.

A scoring or generation call often holds many prompts that start with the same tokens: MMLU's subject line,
a first-n few-shot block, GSM8K's eight exemplars. Such a prefix is forwarded once and its key/value cache
reused. The rows of a call need not all share one prefix: with few-shot examples drawn first-n from the
evaluated split, rows 0-4 of MMLU each leave themselves out of their own block, so their prompts differ from
everyone else's after the subject line. `prefix_groups` splits the rows into groups by where their prompts
diverge, and keeps a split only where it saves tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

KV = list[tuple[torch.Tensor, torch.Tensor]]  # (keys, values) per layer, batch dimension 1


def shared_prefix(contexts: Sequence[Sequence[int]]) -> int:
    """Length of the prefix common to all contexts, leaving each at least its last token; 0 for one context."""
    if len(contexts) < 2:
        return 0
    first = contexts[0]
    n = min(len(c) for c in contexts) - 1
    for c in contexts[1:]:
        k = 0
        while k < n and c[k] == first[k]:
            k += 1
        n = k
    return max(n, 0)


def _best_split(
    contexts: Sequence[Sequence[int]], members: list[int], min_prefix: int
) -> tuple[int, list[tuple[int, list[int]]]]:
    """(tokens forwarded, groups) for the cheapest way to share prefixes among `members`."""
    group = [contexts[i] for i in members]
    prefix = shared_prefix(group)
    if prefix < min_prefix:
        prefix = 0
    whole_cost = prefix + sum(len(c) - prefix for c in group)
    whole = (whole_cost, [(prefix, members)])
    if len(members) < 2:
        return whole
    # the rows diverge at `at`: split them by their token there and see whether each part shares more
    at = shared_prefix(group)
    parts: dict[int, list[int]] = {}
    for i in members:
        parts.setdefault(contexts[i][at], []).append(i)
    if len(parts) < 2:
        return whole
    cost, groups = 0, []
    for part in parts.values():
        part_cost, part_groups = _best_split(contexts, part, min_prefix)
        cost += part_cost + min_prefix  # an extra pass is not free: count it as a few tokens
        groups.extend(part_groups)
    return (cost, groups) if cost < whole_cost else whole


def prefix_groups(contexts: Sequence[Sequence[int]], min_prefix: int) -> list[tuple[int, list[int]]]:
    """Partition the indices of `contexts` into (prefix length, indices) groups, each group sharing its first
    `prefix length` tokens (0: nothing shared). Rows with nothing to share form one group, listed first."""
    if not contexts:
        return []
    _, groups = _best_split(contexts, list(range(len(contexts))), min_prefix)
    alone = sorted(i for prefix, members in groups if prefix == 0 for i in members)
    shared = [(prefix, members) for prefix, members in groups if prefix > 0]
    return ([(0, alone)] if alone else []) + shared


def cache_keyword(model: Any) -> str:
    """forward()'s keyword for the key/value cache: `cache` in recent transformers 5.x, `past_key_values`
    before (deprecated there, and due to be removed in 5.40)."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def returned_cache(out: Any) -> Any:
    """The key/value cache a forward pass returned, under either name (see cache_keyword)."""
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


class PrefixMemo:
    """The last prefix forwarded and its key/values, so that consecutive calls sharing it (a run's chunks of
    one task) forward it once."""

    def __init__(self) -> None:
        self.tokens: tuple[int, ...] = ()
        self.value: tuple[KV, torch.Tensor] | None = None

    def get(self, model: Any, tokens: Sequence[int], device: str) -> tuple[KV, torch.Tensor, bool]:
        """(key/values, last logits, whether they were computed now) for `tokens`."""
        key = tuple(tokens)
        fresh = self.value is None or key != self.tokens
        if fresh:
            self.tokens, self.value = key, prefix_cache(model, key, device)
        assert self.value is not None
        return self.value[0], self.value[1], fresh


def prefix_cache(model: Any, tokens: Sequence[int], device: str) -> tuple[KV, torch.Tensor]:
    """Key/value tensors of every layer for `tokens`, from one forward pass, and the last position's logits.

    Every layer keeps all of its keys, sliding-window layers included (their own cache would keep only the last
    window's worth, leaving the layers of one prefix with different lengths); masks apply the window."""
    from transformers import DynamicCache

    ids = torch.tensor([list(tokens)], device=device)
    with torch.inference_mode():
        positions = torch.arange(len(tokens), device=device)[None]
        out = model(input_ids=ids, position_ids=positions, use_cache=True, logits_to_keep=1,
                    **{cache_keyword(model): DynamicCache()})  # fmt: skip
    kv = [(layer.keys, layer.values) for layer in returned_cache(out).layers]
    return kv, out.logits[0, -1]


ATTENTION = "assay_prefix"  # registered name of prefix_attention


def prefix_attention(module: Any, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                     attention_mask: torch.Tensor | None, scaling: float | None = None, dropout: float = 0.0,
                     prefix_kv: KV | None = None, **kwargs: Any) -> tuple[torch.Tensor, None]:  # fmt: skip
    """Attention over a shared prefix (read in place, never copied per row) and the batch's own keys.

    Without `prefix_kv` this is transformers' SDPA attention. With it, every query attends to all of the
    prefix (one batch-1 pass per layer whose queries are all the batch's, so the prefix is neither expanded
    to the batch nor repeated per query head) and, under `attention_mask` (batch, 1, queries, own keys), to
    the batch's own keys; the two softmax parts are merged through their log-sum-exps, as flash attention
    merges its blocks.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    batch, heads, width, dim = query.shape
    group = heads // key.shape[1]
    if prefix_kv is None:
        if width == 1 and group > 1 and dropout == 0.0:  # a decoding step: keys read once per key/value head
            return _own_attention(query, key, value, attention_mask, False, scaling, group)[0], None
        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,  # type: ignore[no-any-return]
                                      dropout=dropout, **kwargs)  # fmt: skip
    p_key, p_value = prefix_kv[module.layer_idx]
    kv_heads = p_key.shape[1]
    # all queries of one kv head (any batch row, position, head of its group) form one sequence
    q = query.transpose(1, 2).view(batch, width, kv_heads, group, dim).permute(2, 0, 1, 3, 4)
    out_p, lse_p = _FLASH(q.reshape(1, kv_heads, -1, dim), p_key, p_value, scale=scaling)
    # back to (batch, width, heads, ...), the layout the caller wants the output in
    out_p = out_p.view(kv_heads, batch, width, group, dim).permute(1, 2, 0, 3, 4).reshape(batch, width, heads, dim)
    lse_p = lse_p.view(kv_heads, batch, width, group).permute(1, 2, 0, 3).reshape(batch, width, heads)
    # transformers leaves out the mask when it is plainly causal (or all-visible for one query)
    causal = attention_mask is None and width > 1
    out_s, lse_s = _own_attention(query, key, value, attention_mask, causal, scaling, group)
    lse = torch.logaddexp(lse_p, lse_s)  # float32 whatever the model's dtype: the merge is cast back to it
    merged = out_p * (lse_p - lse).exp_()[..., None] + out_s * (lse_s - lse).exp_()[..., None]
    return merged.to(query.dtype), None


_FLASH = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu


def _own_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, mask: torch.Tensor | None,
                   causal: bool, scaling: float | None, group: int) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """Attention of the batch's queries (batch, heads, width, dim) to its own keys (batch, kv heads, keys, dim):
    the output as (batch, width, heads, dim) and the log-sum-exps as (batch, width, heads).

    With one query per row (a decoding step) the `group` query heads of a key/value head form one sequence of
    `group` queries, so each key is read once per key/value head; repeating the keys per query head instead
    would copy the whole cache at every layer of every step.
    """
    from transformers.integrations.sdpa_attention import repeat_kv

    batch, heads, width, dim = query.shape
    if mask is not None and mask.dtype == torch.bool:  # the kernel takes an additive mask; a large negative
        # number, not -inf: a fully masked query row then gets a log-sum-exp far below the prefix's, not NaN
        mask = torch.zeros(mask.shape, dtype=query.dtype).masked_fill_(~mask, torch.finfo(query.dtype).min)
    if width == 1:
        kv_heads = heads // group
        folded = mask if mask is None else mask.expand(mask.shape[0], mask.shape[1], group, mask.shape[-1])
        out, lse = _FLASH(query.reshape(batch, kv_heads, group, dim), key, value, attn_mask=folded, scale=scaling)
        return out.reshape(batch, 1, heads, dim), lse.reshape(batch, 1, heads)
    out, lse = _FLASH(query, repeat_kv(key, group), repeat_kv(value, group), is_causal=causal, attn_mask=mask,
                      scale=scaling)  # fmt: skip
    return out.transpose(1, 2), lse.transpose(1, 2)


def sliding_window(config: Any) -> tuple[int | None, bool]:
    """(window, mixed) of a model whose attention layers (some or all) see only the last `window` tokens:
    `mixed` when full-attention layers sit beside them (Gemma-2/3), False when every layer slides (Mistral).
    (None, False) for a model with full attention only."""
    window = getattr(config, "sliding_window", None)
    if not window or getattr(config, "use_sliding_window", True) is False:
        return None, False
    kinds = getattr(config, "layer_types", None)
    if kinds is None:
        return int(window), False
    if "sliding_attention" not in kinds:
        return None, False
    return int(window), any(kind != "sliding_attention" for kind in kinds)


def shares_prefix_in_place(model: Any) -> bool:
    """Whether a shared prefix's key/values can be read in place by prefix_attention: on SDPA (CPU), and only
    for a model with full attention everywhere (the prefix part has no mask, so it could not apply a window)."""
    return use_prefix_attention(model) and sliding_window(model.config)[0] is None


def use_prefix_attention(model: Any) -> bool:
    """Switch a model on SDPA (CPU) to prefix_attention, which is SDPA when no prefix is passed. False when the
    model uses another implementation or device (then a prefix's key/values are expanded into a cache)."""
    config = model.config
    if getattr(config, "_attn_implementation", None) == ATTENTION:
        return True
    if getattr(config, "_attn_implementation", None) != "sdpa" or next(model.parameters()).device.type != "cpu":
        return False
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION, prefix_attention)
    AttentionMaskInterface.register(ATTENTION, sdpa_mask)
    model.set_attn_implementation(ATTENTION)
    return True
