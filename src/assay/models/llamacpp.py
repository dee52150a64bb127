"""The llama.cpp backend for GGUF files, in process (`--model llamacpp --model-args path=model.gguf`).

llama.cpp runs inside this process through xllamacpp, a prebuilt wheel of llama.cpp with its server engine
(nothing compiles at install time). That engine reports no log-probabilities of prompt tokens, so a
continuation is scored by having the engine "generate" exactly its tokens (a grammar that admits those token
ids and nothing else) and reading each one's log-probability, which llama.cpp takes from the raw logits,
before any sampler or grammar: the numbers are those of a forward pass (within 0.01 nat of the hf backend
on the same float32 weights). Tokens are split into context and continuation as lm-evaluation-harness (and
the hf backend) does. Requests are sorted so that those sharing a context follow each other; the engine
keeps the key/value cache of the prompt it last saw, so a shared context is evaluated once.

Arguments: path (the .gguf file), n_ctx (2048), n_threads (half the logical cores), n_batch (512), seed (the default
for requests without one), precision (`native`: the file's quantized weights, as llama.cpp runs them;
`f32`: the weights de-quantized to float32 once and cached, which agrees with the hf backend on the same
GGUF within a few thousandths of a nat; native quantized compute differs from it by ~0.1 nat per token).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.errors import DependencyError, ModelError, UsageError
from assay.models.base import ModelDefaults, Progress
from assay.models.identity import file_sha256, identify
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
)

# native: compute as llama.cpp does with the file's quantized weights (activations quantized on the fly);
# f32: with the weights de-quantized to float32 once (the numbers the hf backend computes with)
PRECISIONS = ("native", "f32")


def split_tokens(encode: Any, prefix_id: int, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """(context tokens, continuation tokens) as lm-evaluation-harness splits them.

    Trailing whitespace of the context moves to the continuation; the continuation's tokens are those of
    encode(context + continuation) after len(encode(context)); an empty context becomes one prefix token.
    """
    if not context:
        return [prefix_id], list(encode(continuation))
    n_spaces = len(context) - len(context.rstrip())
    if n_spaces:
        context, continuation = context[:-n_spaces], context[-n_spaces:] + continuation
    whole = list(encode(context + continuation))
    ctx = list(encode(context))
    return ctx, whole[len(ctx) :]


class LlamaCppModel(ModelDefaults):
    """A GGUF model run by llama.cpp (xllamacpp) in this process, behind the batch-in/batch-out Model seam."""

    backend = "llamacpp"

    def __init__(
        self,
        name: str = "",
        *,
        path: str = "",
        n_ctx: int = 2048,
        n_threads: int | None = None,
        n_batch: int = 512,
        seed: int = 1234,
        precision: str = "native",
        **unknown: Any,
    ) -> None:
        if unknown:
            raise UsageError(
                f"unknown llamacpp model argument(s): {', '.join(sorted(unknown))}",
                hint="known: path, n_ctx, n_threads, n_batch, seed, precision",
            )
        if precision not in PRECISIONS:
            raise UsageError(f"unknown precision {precision!r}", hint="precision=native or precision=f32")
        gguf = Path(str(path)).expanduser()
        if not path or not gguf.is_file():
            raise UsageError(f"no GGUF file at {str(path)!r}", hint="give path=/path/to/model.gguf")
        self.name = name or gguf.stem
        self.path = gguf
        self.precision = precision
        self.seed = int(seed)
        self.n_ctx = int(n_ctx)
        weights = gguf
        if precision == "f32":
            from assay.models.aliases import models_root
            from assay.models.gguf_f32 import dequantized_gguf

            weights = dequantized_gguf(gguf, models_root() / "gguf-f32", file_sha256(gguf))
        self.stats: dict[str, int | float] = {"forward_tokens": 0, "reused_tokens": 0}
        self.engine = start_engine(weights, n_ctx=self.n_ctx, n_threads=n_threads, n_batch=int(n_batch))
        import httpx

        # the engine's own loopback HTTP port, for /tokenize; one kept-alive connection (a new one per call
        # cost ~50 ms on a busy machine)
        self.http = httpx.Client(base_url=str(self.engine.listening_address), timeout=60.0)
        self.prefix_id = self._prefix_id()
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """Hash of the GGUF bytes (its path does not matter) and of this backend's numerics (precision)."""
        if self._fingerprint is None:
            self._fingerprint = identify(self.backend, {"path": self.path, "precision": self.precision}).fingerprint
        return self._fingerprint

    def encode(self, text: str) -> list[int]:
        """Token ids, with the special tokens (BOS) the GGUF's metadata asks for, as HF's encode() does."""
        return self._tokenize(text, add_special=True, parse_special=False)

    def _tokenize(self, text: str, **how: bool) -> list[int]:
        answer = self.http.post("/tokenize", json={"content": text, **how})
        answer.raise_for_status()
        return [int(t) for t in answer.json()["tokens"]]

    def _prefix_id(self) -> int:
        """BOS if the vocabulary has one, else EOS: the token an empty context becomes."""
        props = self.http.get("/props").json()
        for key in ("bos_token", "eos_token"):
            ids = self._tokenize(str(props.get(key) or ""), add_special=False, parse_special=True)
            if len(ids) == 1:
                return ids[0]
        raise ModelError(f"{self.path}: the vocabulary has neither a BOS nor an EOS token")

    # ------------------------------------------------------------------------------------ loglikelihood

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(continuation | context) from the engine's logits, each shared prefix evaluated once."""
        known: dict[str, list[int]] = {}  # the choices of a question share their context: encode it once

        def encode(text: str) -> list[int]:
            if text not in known:
                known[text] = self.encode(text)
            return known[text]

        pairs = [split_tokens(encode, self.prefix_id, r.context, r.continuation) for r in requests]
        order = sorted(range(len(pairs)), key=lambda i: (pairs[i][0], pairs[i][1]))
        out: list[LoglikelihoodResponse | None] = [None] * len(requests)
        for i in order:
            out[i] = self._score(*pairs[i])
            if progress is not None:
                progress(1)
        return [r for r in out if r is not None]

    def _score(self, context: list[int], continuation: list[int]) -> LoglikelihoodResponse:
        if not continuation:
            raise ModelError("a continuation with no tokens cannot be scored")
        tokens = (context + continuation)[-self.n_ctx :]  # left-truncated as lm-eval does when too long
        n_ctx_tokens = len(tokens) - len(continuation)
        if n_ctx_tokens < 1:
            raise ModelError(f"a continuation of {len(continuation)} tokens does not fit n_ctx={self.n_ctx}")
        answer = self._call(
            "handle_completions",
            {
                "prompt": tokens[:n_ctx_tokens], "max_tokens": len(continuation), "n_probs": 1,
                "grammar": "root ::= " + " ".join(f"<[{t}]>" for t in continuation),
                "samplers": [], "temperature": 0.0, "cache_prompt": True,
            },
        )  # fmt: skip
        steps = answer["choices"][0]["logprobs"]["content"]
        if [int(s["id"]) for s in steps] != continuation:
            raise ModelError("llama.cpp did not follow the continuation's tokens")  # a grammar it could not apply
        self._count(answer)
        return LoglikelihoodResponse(
            logprob=float(sum(s["logprob"] for s in steps)),
            is_greedy=all(s["top_logprobs"][0]["id"] == s["id"] for s in steps),
            n_tokens=len(continuation),
        )

    def _count(self, answer: dict[str, Any]) -> None:
        usage = answer.get("usage", {})
        cached = int(usage.get("prompt_tokens_details", {}).get("cached_tokens", 0))
        self.stats["forward_tokens"] += int(usage.get("total_tokens", 0)) - cached
        self.stats["reused_tokens"] += cached

    def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = dict(getattr(self.engine, method)(body))
        if "error" in answer:
            error = answer["error"]
            message = error.get("message", error) if isinstance(error, dict) else error
            raise ModelError(f"llama.cpp: {message}", hint="raise n_ctx or shorten the prompt")
        return answer

    # ---------------------------------------------------------------------------------------- generation

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        """Completions in request order; sample k of a request uses seed + k (the model's seed if none)."""
        out = []
        for req in requests:
            texts, reasons, counts = [], [], []
            copies = 1 if req.temperature == 0 else req.n  # greedy: the same text n times
            for k in range(copies):
                seed = (self.seed if req.seed is None else req.seed) + k
                answer = self._complete(req, seed)
                choice = answer["choices"][0]
                raw = choice["message"]["content"] if "message" in choice else choice["text"]
                texts.append(_cut(raw or "", req.stop))
                reasons.append(str(choice.get("finish_reason") or ""))
                counts.append(int(answer.get("usage", {}).get("completion_tokens", 0)))
                self._count(answer)
            factor = req.n if copies == 1 else 1
            out.append(GenerationResponse(texts=tuple(texts * factor), finish_reasons=tuple(reasons * factor),
                                          n_tokens=tuple(counts * factor)))  # fmt: skip
            if progress is not None:
                progress(1)
        return out

    def _complete(self, req: GenerationRequest, seed: int) -> dict[str, Any]:
        # plain temperature / top-p sampling: switch off llama.cpp's default top-k, min-p and penalties
        body: dict[str, Any] = {
            "max_tokens": req.max_tokens, "temperature": req.temperature, "top_p": req.top_p,
            "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "stop": list(req.stop), "seed": seed,
        }  # fmt: skip
        if req.chat:
            body["messages"] = [{"role": r, "content": c} for r, c in (req.messages or (("user", req.prompt),))]
            return self._call("handle_chat_completions", body)
        return self._call("handle_completions", {**body, "prompt": req.prompt})

    def close(self) -> None:
        """Stop the engine and free the model."""
        self.__dict__.pop("engine", None)  # a closed model has no engine left to call by mistake
        self.http.close()


def default_threads() -> int:
    """Half the logical cores, as llama.cpp's own default (physical cores) is. llama.cpp's threads meet at a
    barrier after every step: with more threads than free cores, generation on a busy 2-core machine fell from
    12.7 tokens/s (1 thread) to 0.7 (2 threads)."""
    return max(1, (os.cpu_count() or 2) // 2)


def start_engine(
    gguf: Path, *, n_ctx: int, n_threads: int | None, n_batch: int, alias: str = "", port: int = 0
) -> Any:
    """llama.cpp's server engine (xllamacpp) on `gguf`, quiet, listening on 127.0.0.1 (`port` 0: a free one)."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise DependencyError(
            "the llamacpp backend needs xllamacpp (a prebuilt llama.cpp)", hint="pip install 'assay[llamacpp]'"
        ) from exc
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = n_ctx
    params.n_batch = n_batch
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = n_threads or default_threads()
    params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
    params.hostnames = ["127.0.0.1"]
    params.port = port
    if alias:
        params.model_alias = {alias}
    try:
        return xllamacpp.Server(params)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"llama.cpp cannot load {gguf}: {exc}", hint="is it a complete GGUF file?") from exc


def _cut(text: str, stops: Sequence[str]) -> str:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut]
