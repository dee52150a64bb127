"""The llama.cpp backend for GGUF files, in process (`--model llamacpp --model-args path=model.gguf`).

Loglikelihoods come from the logits llama.cpp evaluates (`Llama(logits_all=True)`, `eval`, `scores`), not
from `create_completion(echo=True, logprobs=...)`, whose prompt log-probabilities were found wrong by 10-50
nats. Tokens are split into context and continuation as lm-evaluation-harness (and the hf backend) does,
so both backends score the same tokens of the same weights. Requests are sorted so that those sharing a
context follow each other, and each evaluation keeps the key/value cache of the prefix it shares with the
one before: a shared context is evaluated once.

Arguments: path (the .gguf file), n_ctx (2048), n_threads (all cores), n_batch (512), seed (the default
for requests without one), precision (`native`: the file's quantized weights, as llama.cpp runs them;
`f32`: the weights de-quantized to float32 once and cached, which agrees with the hf backend on the same
GGUF within a few thousandths of a nat; native quantized compute differs from it by ~0.1 nat per token).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import DependencyError, ModelError, UsageError
from assay.models.base import Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    stable_hash,
)

_FINGERPRINTS: dict[tuple[str, int, int], str] = {}
# native: compute as llama.cpp does with the file's quantized weights (activations quantized on the fly);
# f32: with the weights de-quantized to float32 once (the numbers the hf backend computes with)
PRECISIONS = ("native", "f32")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, memoized per (path, size, mtime) within the process."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FINGERPRINTS:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                digest.update(block)
        _FINGERPRINTS[key] = digest.hexdigest()
    return _FINGERPRINTS[key]


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


def _log_softmax_at(logits: np.ndarray, token: int) -> tuple[float, bool]:
    row = logits.astype(np.float64)
    top = float(row.max())
    log_z = top + float(np.log(np.exp(row - top).sum()))
    return float(row[token]) - log_z, int(row.argmax()) == token


class LlamaCppModel:
    """A GGUF model run by llama-cpp-python, behind the batch-in/batch-out Model seam."""

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
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise DependencyError(
                "the llamacpp backend needs llama-cpp-python",
                hint="pip install 'assay[llamacpp]' (it compiles llama.cpp: about 20 minutes on 2 cores)",
            ) from exc
        self.name = name or gguf.stem
        self.path = gguf
        self.precision = precision
        self.seed = int(seed)
        weights = gguf
        if precision == "f32":
            from assay.models.aliases import models_root
            from assay.models.gguf_f32 import dequantized_gguf

            weights = dequantized_gguf(gguf, models_root() / "gguf-f32", file_sha256(gguf))
        self.stats = {"forward_tokens": 0, "reused_tokens": 0}
        try:
            self.llm = Llama(
                model_path=str(weights),
                n_ctx=int(n_ctx),
                n_batch=int(n_batch),
                logits_all=True,
                n_threads=int(n_threads or os.cpu_count() or 1),
                seed=self.seed,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp cannot load {gguf}: {exc}") from exc
        bos, eos = self.llm.token_bos(), self.llm.token_eos()
        self.prefix_id = bos if bos >= 0 else eos
        self._fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """Hash of the GGUF bytes (its path does not matter) and of this backend's numerics."""
        if self._fingerprint is None:
            identity = {"backend": self.backend, "gguf": file_sha256(self.path), "precision": self.precision}
            self._fingerprint = stable_hash(identity, 32)
        return self._fingerprint

    def encode(self, text: str) -> list[int]:
        """Token ids, with the special tokens (BOS) the GGUF's metadata asks for, as HF's encode() does."""
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))

    # ------------------------------------------------------------------------------------ loglikelihood

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(continuation | context) from evaluated logits, each shared prefix evaluated once."""
        pairs = [split_tokens(self.encode, self.prefix_id, r.context, r.continuation) for r in requests]
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
        limit = self.llm.n_ctx()
        tokens = (context + continuation)[-limit:]  # left-truncated as lm-eval does when too long
        n_ctx_tokens = len(tokens) - len(continuation)
        if n_ctx_tokens < 1:
            raise ModelError(f"a continuation of {len(continuation)} tokens does not fit n_ctx={limit}")
        self._evaluate(tokens)
        total, greedy = 0.0, True
        for k, token in enumerate(continuation):
            logprob, is_top = _log_softmax_at(self.llm.scores[n_ctx_tokens - 1 + k], token)
            total += logprob
            greedy = greedy and is_top
        return LoglikelihoodResponse(logprob=total, is_greedy=greedy, n_tokens=len(continuation))

    def _evaluate(self, tokens: list[int]) -> None:
        """Make llama.cpp's state hold `tokens`, evaluating only what differs from what it holds now."""
        held = self.llm.input_ids[: self.llm.n_tokens].tolist()
        shared = 0
        for a, b in zip(held, tokens, strict=False):
            if a != b:
                break
            shared += 1
        # rows of `scores` before `shared` were computed from the same prefix and stay valid; at least the
        # last token is always evaluated again so its logits row is fresh
        shared = min(shared, len(tokens) - 1)
        self.llm.n_tokens = shared  # eval() drops the cache from here on
        self.llm.eval(tokens[shared:])
        self.stats["forward_tokens"] += len(tokens) - shared
        self.stats["reused_tokens"] += shared

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
                self.stats["forward_tokens"] += int(answer.get("usage", {}).get("total_tokens", 0))
            factor = req.n if copies == 1 else 1
            out.append(GenerationResponse(texts=tuple(texts * factor), finish_reasons=tuple(reasons * factor),
                                          n_tokens=tuple(counts * factor)))  # fmt: skip
            if progress is not None:
                progress(1)
        return out

    def _complete(self, req: GenerationRequest, seed: int) -> dict[str, Any]:
        # plain temperature / top-p sampling: switch off llama.cpp's default top-k, min-p and penalties
        settings: dict[str, Any] = {
            "max_tokens": req.max_tokens, "temperature": req.temperature, "top_p": req.top_p,
            "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0, "stop": list(req.stop), "seed": seed,
        }  # fmt: skip
        try:
            if req.chat:
                messages = [{"role": r, "content": c} for r, c in (req.messages or (("user", req.prompt),))]
                return dict(self.llm.create_chat_completion(messages=messages, **settings))  # type: ignore[arg-type]
            return dict(self.llm.create_completion(req.prompt, **settings))  # type: ignore[arg-type]
        except ValueError as exc:  # e.g. a prompt longer than n_ctx
            raise ModelError(f"llama.cpp could not generate: {exc}", hint="raise n_ctx or shorten the prompt") from exc

    def close(self) -> None:
        """Free the model and its context."""
        llm = self.__dict__.pop("llm", None)  # a closed model has no engine left to call by mistake
        if llm is not None:
            llm.close()


def _cut(text: str, stops: Sequence[str]) -> str:
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut]
