"""Generation for the HF backend: batched greedy decoding, seeded sampling, stop sequences, chat templates.

Greedy requests with the same settings are batched (left padding). A sampled request is generated on its
own after seeding torch with its seed, so its texts do not depend on what else is in the run: the same
request and seed give the same texts, which is what makes cached and resumed sampled runs identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from assay.errors import ModelError
from assay.models.base import Progress
from assay.records import GenerationRequest, GenerationResponse


def render_prompt(tokenizer: Any, req: GenerationRequest) -> str:
    """The text the model continues: the chat template applied when asked, else the raw prompt."""
    if not req.chat:
        return req.prompt
    messages = [{"role": role, "content": content} for role, content in req.messages] or [
        {"role": "user", "content": req.prompt}
    ]
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError("this model has no chat template, so chat prompts cannot be rendered",
                         hint="use a task without chat: true, or an instruct model")  # fmt: skip
    return str(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False))


def cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    """Text up to the first stop sequence, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _run(hf: Any, prompts: list[str], req: GenerationRequest, n: int) -> list[tuple[str, str, int]]:
    tok = hf.tokenizer
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    add_special = hf._add_special if hf._add_special is not None else not req.chat
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=add_special).to(hf.device)
    sampled = req.temperature > 0
    kwargs: dict[str, Any] = {
        "max_new_tokens": req.max_tokens,
        "do_sample": sampled,
        "num_return_sequences": n,
        "pad_token_id": tok.pad_token_id,
    }
    if sampled:
        kwargs.update(temperature=req.temperature, top_p=req.top_p)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    if req.stop:
        kwargs.update(stop_strings=list(req.stop), tokenizer=tok)
    with torch.inference_mode():
        out = hf.model.generate(**enc, **kwargs)
    new = out[:, enc["input_ids"].shape[1] :]
    results = []
    for row in new:
        ids = [int(t) for t in row if int(t) != tok.pad_token_id]
        raw = tok.decode(ids, skip_special_tokens=True)
        text, stopped = cut_at_stop(raw, req.stop)
        eos = tok.eos_token_id in ids
        results.append((text, "stop" if stopped or eos else "length", len(ids)))
    hf.stats["forward_tokens"] += int(out.numel())
    return results


def _response(parts: list[tuple[str, str, int]]) -> GenerationResponse:
    return GenerationResponse(
        texts=tuple(p[0] for p in parts),
        finish_reasons=tuple(p[1] for p in parts),
        n_tokens=tuple(p[2] for p in parts),
    )


def generate(hf: Any, requests: Sequence[GenerationRequest], progress: Progress | None) -> list[GenerationResponse]:
    """Responses in request order; greedy ones batched by identical settings, sampled ones seeded alone."""
    out: list[GenerationResponse | None] = [None] * len(requests)
    batch = int(hf.batch_size) if str(hf.batch_size).isdigit() else 8
    greedy: dict[tuple[Any, ...], list[int]] = {}
    for i, req in enumerate(requests):
        if req.temperature > 0:
            torch.manual_seed(req.seed if req.seed is not None else 0)
            out[i] = _response(_run(hf, [render_prompt(hf.tokenizer, req)], req, req.n))
            if progress:
                progress(1)
        else:
            greedy.setdefault((req.stop, req.max_tokens, req.chat), []).append(i)
    for indices in greedy.values():
        # longest first keeps padding low inside each batch
        indices.sort(key=lambda i: -len(requests[i].prompt))
        for start in range(0, len(indices), batch):
            chunk = indices[start : start + batch]
            first = requests[chunk[0]]
            texts = _run(hf, [render_prompt(hf.tokenizer, requests[i]) for i in chunk], first, 1)
            for i, part in zip(chunk, texts, strict=True):
                # greedy decoding gives the same text n times; keep n copies so pass@k sees n outputs
                out[i] = _response([part] * requests[i].n)
            if progress:
                progress(len(chunk))
    return [r for r in out if r is not None]
