"""Generation throughput through assay's HTTP backend vs a plain concurrent httpx client, in one run.

    python bench/bench_http.py [--base-url URL --model ID] [--prompts 24] [--max-tokens 64] [--concurrency 4]
                               [--rounds 2] [--data-dir ../shared/data] [--hf]

Without --base-url it starts llama.cpp's server (xllamacpp, the `llamacpp` extra) on SmolLM2-135M-Instruct. Both
sides send the same completion calls (GSM8K questions as "Q: ...\\nA:", greedy, the same max_tokens and stop)
with the same number in flight, in alternating rounds (plain, assay, plain, assay, ...) so that drift in the
machine's load hits both. Prints completion tokens per second of each side and the ratio assay / plain
(target: >= 0.90), and how many texts both sides got identical. --hf adds the HF backend's batched generation
on a few of the same prompts, for its tokens/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx

from assay.models.openai import OpenAICompletionsModel
from assay.records import GenerationRequest
from assay.testing.llamaserver import LlamaServer, smollm2_gguf

STOP = ["Q:", "</s>", "<|im_end|>"]


def load_prompts(data_dir: Path, n: int) -> list[str]:
    path = data_dir / "openai" / "gsm8k" / "main" / "test.jsonl"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line, _ in zip(fh, range(n), strict=False)]
        return [f"Q: {r['question']}\nA:" for r in rows]
    return [f"Q: What is {i} plus {i + 1}? Explain step by step.\nA:" for i in range(n)]


def payload(model: str, prompt: str, max_tokens: int) -> dict[str, Any]:
    """The body assay's backend sends for a greedy GenerationRequest (same keys, same values)."""
    return {"model": model, "max_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, "n": 1,
            "stop": STOP, "prompt": prompt}  # fmt: skip


async def _plain(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> list[dict[str, Any]]:
    limit = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=600.0, limits=limits) as client:

        async def one(body: dict[str, Any]) -> dict[str, Any]:
            async with limit:
                response = await client.post(base_url + "/completions", json=body)
                response.raise_for_status()
                return dict(response.json())

        return list(await asyncio.gather(*(one(b) for b in bodies)))


def run_plain(base_url: str, bodies: list[dict[str, Any]], concurrency: int) -> tuple[float, int, list[str]]:
    started = time.perf_counter()
    answers = asyncio.run(_plain(base_url, bodies, concurrency))
    wall = time.perf_counter() - started
    tokens = sum(int(a["usage"]["completion_tokens"]) for a in answers)
    return wall, tokens, [a["choices"][0]["text"] for a in answers]


def run_assay(
    base_url: str, model_id: str, prompts: list[str], args: argparse.Namespace
) -> tuple[float, int, list[str]]:
    model = OpenAICompletionsModel(base_url=base_url, model=model_id, concurrency=args.concurrency)
    requests = [GenerationRequest(prompt=p, max_tokens=args.max_tokens, stop=tuple(STOP)) for p in prompts]
    model.fingerprint  # noqa: B018 - resolve the model listing outside the timed part, as the plain side has it
    started = time.perf_counter()
    out = model.generate(requests)
    wall = time.perf_counter() - started
    return wall, sum(r.n_tokens[0] for r in out), [r.texts[0] for r in out]


def bench_hf(prompts: list[str], max_tokens: int) -> None:
    from assay.models.aliases import hf_folder
    from assay.models.hf import HFModel

    hf = HFModel(name="smollm2-hf", pretrained=str(hf_folder("smollm2-135m")), batch_size=len(prompts))
    requests = [GenerationRequest(prompt=p, max_tokens=max_tokens, stop=tuple(STOP)) for p in prompts]
    started = time.perf_counter()
    out = hf.generate(requests)
    wall = time.perf_counter() - started
    tokens = sum(r.n_tokens[0] if r.n_tokens else 0 for r in out)
    rate = tokens / wall
    print(f"hf backend (batched, {len(prompts)} prompts): {tokens} tokens in {wall:.1f} s = {rate:.1f} tok/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible server's /v1 URL (default: start llama.cpp's)")
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--hf", action="store_true", help="also time the HF backend's batched generation")
    args = parser.parse_args()
    prompts = load_prompts(args.data_dir, args.prompts)
    server = None if args.base_url else LlamaServer(smollm2_gguf(), alias=args.model).start()
    base_url = args.base_url or (server.base_url if server else "")
    try:
        bodies = [payload(args.model, p, args.max_tokens) for p in prompts]
        run_plain(base_url, bodies[:2], args.concurrency)  # warm-up: weights paged in, first-call costs paid
        totals = {"plain": [0.0, 0], "assay": [0.0, 0]}
        for r in range(args.rounds):
            plain = run_plain(base_url, bodies, args.concurrency)
            ours = run_assay(base_url, args.model, prompts, args)
            # llama.cpp's server reuses the cached prefix of whatever call it served before, so the order in
            # which concurrent calls arrive can flip a near-tie in greedy decoding: count, do not require
            same = sum(a == b for a, b in zip(plain[2], ours[2], strict=True))
            print(f"round {r + 1}: {same}/{len(prompts)} texts identical on both sides")
            for side, (wall, tokens, _) in (("plain", plain), ("assay", ours)):
                totals[side][0] += wall
                totals[side][1] += tokens
                print(f"round {r + 1} {side:5}: {tokens} tokens in {wall:.2f} s = {tokens / wall:.1f} tok/s")
        rate = {side: t[1] / t[0] for side, t in totals.items()}
        print(f"plain httpx: {rate['plain']:.1f} tok/s · assay: {rate['assay']:.1f} tok/s · "
              f"ratio assay/plain = {rate['assay'] / rate['plain']:.3f} (target >= 0.90)")  # fmt: skip
    finally:
        if server is not None:
            server.stop()
    if args.hf:
        bench_hf(prompts[:8], args.max_tokens)


if __name__ == "__main__":
    main()
