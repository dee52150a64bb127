"""Backends for OpenAI-compatible servers (vLLM, llama.cpp's server, Ollama, hosted APIs).

    --model openai-completions --model-args base_url=http://127.0.0.1:8080/v1,model=smollm2
    --model openai-chat        --model-args "base_url=http://a:8000/v1|http://b:8000/v1,model=m,concurrency=16"

Arguments: base_url (several separated by `|`: one run is spread over the replicas), model (default: the one
model the server lists), api_key_env (the environment variable holding the key, default OPENAI_API_KEY; the
key itself is never an argument, so it never lands in a run folder or a log), concurrency (calls in flight per
replica), timeout (seconds per call), max_retries, backoff and max_backoff (seconds).

Generation sends one call per output: n samples of a request use seeds seed, seed+1, ... so sampled
outputs are reproducible one by one. Loglikelihood uses the completions endpoint's `echo` + `logprobs`, but
only after a probe shows that the server's prompt log-probabilities agree with its own generation
log-probabilities (llama.cpp's server fails this by 10-50 nats); otherwise the backend refuses rather than
return wrong numbers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

from assay.errors import ModelError, UsageError
from assay.models.base import ModelDefaults, Progress
from assay.models.http import HttpPool, RetryPolicy
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    stable_hash,
)

JSON = dict[str, Any]

# the probe: a prompt whose greedy continuation is ordinary text (no early end of sequence)
PROBE_PROMPT = "Question: What is the capital of France?\nAnswer: The capital of France is"
PROBE_TOKENS = 8
# fields of a /models entry that change from call to call or say nothing about the weights
_VOLATILE = {"created", "object", "permission", "permissions", "meta"}


def split_urls(value: str | Sequence[str]) -> list[str]:
    """`"http://a/v1|http://b/v1"` (or a list) -> the list of base URLs."""
    parts = value.replace(" ", "|").split("|") if isinstance(value, str) else list(value)
    return [p.strip() for p in parts if p and p.strip()]


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut `text` at the earliest stop sequence (servers differ on whether they leave it in)."""
    cut = len(text)
    for s in stop:
        if s and (i := text.find(s)) != -1:
            cut = min(cut, i)
    return text[:cut]


def continuation_logprob(answer: JSON, start: int, end: int) -> LoglikelihoodResponse:
    """Sum the echoed log-probabilities of the tokens covering characters [start, end) of the prompt.

    Token i spans [text_offset[i], text_offset[i+1]); a token that straddles the context/continuation
    boundary counts as continuation (the model had to predict it). Tokens at or past `end` were generated.
    """
    try:
        lp = answer["choices"][0]["logprobs"]
        offsets, token_lps = lp["text_offset"], lp["token_logprobs"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ModelError("the server's echo answer has no logprobs.text_offset/token_logprobs") from exc
    tops = lp.get("top_logprobs") or [None] * len(offsets)
    total, n, greedy = 0.0, 0, True
    for i, offset in enumerate(offsets):
        next_offset = offsets[i + 1] if i + 1 < len(offsets) else math.inf
        if offset >= end or next_offset <= start:
            continue
        value = token_lps[i]
        if value is None:  # the first prompt token has no log-probability: an empty context
            raise ModelError("cannot score a continuation with an empty context through the echo path")
        total += float(value)
        n += 1
        if tops[i]:
            greedy = greedy and float(value) >= max(float(v) for v in tops[i].values()) - 1e-6
    if n == 0:
        raise ModelError("the server's echo answer holds no token of the continuation")
    return LoglikelihoodResponse(logprob=total, is_greedy=greedy, n_tokens=n)


class _OpenAIBackend(ModelDefaults):
    """What both endpoints share: arguments, the request pool, the fingerprint, generation."""

    backend = "openai"
    chat_endpoint = False

    def __init__(
        self,
        name: str = "",
        *,
        base_url: str | Sequence[str] = "",
        model: str = "",
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 300.0,
        max_retries: int = 6,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        **unknown: Any,
    ) -> None:
        if "api_key" in unknown:
            raise UsageError(
                "an API key must not be a model argument (it would be saved with the run)",
                hint="export it and name the variable: api_key_env=MY_KEY_VARIABLE",
            )
        if unknown:
            raise UsageError(
                f"unknown model argument(s) for {self.backend}: {', '.join(sorted(unknown))}",
                hint="known: base_url, model, api_key_env, concurrency, timeout, max_retries, backoff, max_backoff",
            )
        urls = split_urls(base_url)
        if not urls:
            raise UsageError(f"{self.backend} needs base_url", hint="e.g. base_url=http://127.0.0.1:8080/v1")
        key = os.environ.get(str(api_key_env), "")
        self.pool = HttpPool(
            urls,
            headers={"Authorization": f"Bearer {key}"} if key else {},
            timeout=float(timeout),
            concurrency=int(concurrency),
            retry=RetryPolicy(max_retries=int(max_retries), base_delay=float(backoff), max_delay=float(max_backoff)),
        )
        self._model = str(model)
        self.name = name or self._model or self.backend
        self._fingerprint: str | None = None
        self._server_info: JSON | None = None
        self.stats: dict[str, int | float] = {}  # the server keeps its own counters

    def __repr__(self) -> str:  # deliberately without headers: they may carry the key
        return f"{type(self).__name__}(name={self.name!r}, base_url={'|'.join(self.pool.base_urls)!r})"

    # ------------------------------------------------------------------------------------------ identity

    @property
    def model_id(self) -> str:
        """The model id sent with every call: the `model` argument, or the single model the server lists."""
        if not self._model:
            ids = [str(m.get("id")) for m in self._list_models()]
            if len(ids) != 1:
                raise UsageError(
                    f"the server lists {len(ids)} models; say which one with model=...",
                    hint=f"listed: {', '.join(ids) or 'none'}",
                )
            self._model = ids[0]
        return self._model

    def _list_models(self) -> list[JSON]:
        if self._server_info is None:
            try:
                answer = self.pool.get("/models")
                self._server_info = {"data": list(answer.get("data", [])) if isinstance(answer, dict) else []}
            except ModelError:  # some APIs do not list models: the id alone then identifies the model
                self._server_info = {"data": []}
        return list(self._server_info["data"])

    @property
    def fingerprint(self) -> str:
        """Hash of the model id and what the server reports about it; the same for every replica and URL."""
        if self._fingerprint is None:
            model_id = self.model_id
            entry = next((m for m in self._list_models() if str(m.get("id")) == model_id), {})
            stable = {k: v for k, v in entry.items() if k not in _VOLATILE}
            self._fingerprint = stable_hash({"backend": self.backend, "model": model_id, "server": stable}, 32)
        return self._fingerprint

    @property
    def preferred_chunk_size(self) -> int:
        """A hint for callers that hand requests over in chunks: enough to keep every replica's slots busy."""
        return 4 * self.pool.concurrency * len(self.pool.base_urls)

    # ---------------------------------------------------------------------------------------- generation

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        """One call per output; answers come back in request order."""
        calls: list[tuple[str, JSON]] = []
        owner: list[int] = []
        for r, req in enumerate(requests):
            # greedy decoding gives the same text n times: ask once and repeat it
            copies = 1 if req.temperature == 0 else req.n
            for k in range(copies):
                seed = None if req.seed is None else req.seed + k
                calls.append(self._generation_call(req, seed))
                owner.append(r)
        answers = self.pool.post_many(calls, on_done=_per_request_progress(owner, progress))
        by_request: list[list[JSON]] = [[] for _ in requests]
        for r, answer in zip(owner, answers, strict=True):
            by_request[r].append(answer)
        return [self._response(req, got) for req, got in zip(requests, by_request, strict=True)]

    def _generation_call(self, req: GenerationRequest, seed: int | None) -> tuple[str, JSON]:
        body: JSON = {
            "model": self.model_id,
            "max_tokens": req.max_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
            "n": 1,
        }
        if req.stop:
            body["stop"] = list(req.stop)
        if seed is not None:
            body["seed"] = seed
        if self.chat_endpoint or req.chat:
            messages = req.messages or (("user", req.prompt),)
            body["messages"] = [{"role": role, "content": content} for role, content in messages]
            return "/chat/completions", body
        body["prompt"] = req.prompt
        return "/completions", body

    def _response(self, req: GenerationRequest, answers: list[JSON]) -> GenerationResponse:
        texts: list[str] = []
        reasons: list[str] = []
        tokens: list[int] = []
        for answer in answers:
            try:
                choice = answer["choices"][0]
                raw = choice["message"]["content"] if "message" in choice else choice["text"]
            except (KeyError, IndexError, TypeError) as exc:
                raise ModelError(f"{self.backend}: an answer without choices[0] text: {str(answer)[:200]}") from exc
            texts.append(truncate_at_stop(raw or "", req.stop))
            reasons.append(str(choice.get("finish_reason") or ""))
            tokens.append(int((answer.get("usage") or {}).get("completion_tokens") or 0))
        if len(texts) < req.n:  # greedy: one call stands for all n outputs
            texts, reasons, tokens = texts * req.n, reasons * req.n, tokens * req.n
        return GenerationResponse(texts=tuple(texts), finish_reasons=tuple(reasons), n_tokens=tuple(tokens))

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        raise ModelError(
            "the chat API returns no prompt log-probabilities, so multiple-choice tasks cannot be scored",
            hint="use --model openai-completions on the same server, or the hf / llamacpp backend",
        )

    def close(self) -> None:
        """Nothing to release: each batch opens and closes its own connections."""


def _per_request_progress(owner: list[int], progress: Progress | None) -> Callable[[int], None] | None:
    """Turn per-call completions into per-request progress (a request is done when all its calls are)."""
    if progress is None:
        return None
    left: dict[int, int] = {}
    for r in owner:
        left[r] = left.get(r, 0) + 1

    def on_done(call_index: int) -> None:
        r = owner[call_index]
        left[r] -= 1
        if left[r] == 0:
            progress(1)

    return on_done


class OpenAIChatModel(_OpenAIBackend):
    """`openai-chat`: every request goes to /chat/completions (the server applies the chat template)."""

    backend = "openai-chat"
    chat_endpoint = True


class OpenAICompletionsModel(_OpenAIBackend):
    """`openai-completions`: plain-text prompts to /completions; chat requests go to /chat/completions."""

    backend = "openai-completions"

    def __init__(self, name: str = "", **args: Any) -> None:
        super().__init__(name, **args)
        self._echo_checked = False

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(continuation | context) from the echoed prompt log-probabilities (after the probe passes)."""
        if not requests:
            return []
        self.check_echo_logprobs()
        calls = [("/completions", self._echo_body(r.context + r.continuation)) for r in requests]
        answers = self.pool.post_many(calls, on_done=_per_request_progress(list(range(len(requests))), progress))
        return [
            continuation_logprob(a, len(r.context), len(r.context) + len(r.continuation))
            for r, a in zip(requests, answers, strict=True)
        ]

    def _echo_body(self, text: str) -> JSON:
        # max_tokens=1: several servers reject 0; the one generated token lies past the prompt and is skipped
        return {
            "model": self.model_id,
            "prompt": text,
            "max_tokens": 1,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }

    def check_echo_logprobs(self) -> None:
        """Probe once: echoed log-probabilities of a greedy continuation must equal its generation ones."""
        if self._echo_checked:
            return
        body = {
            "model": self.model_id,
            "prompt": PROBE_PROMPT,
            "max_tokens": PROBE_TOKENS,
            "temperature": 0.0,
            "logprobs": 1,
        }
        generated = self.pool.post_many([("/completions", body)])[0]
        try:
            choice = generated["choices"][0]
            text = choice["text"]
            gen_lps = [float(v) for v in choice["logprobs"]["token_logprobs"]]
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise self._refusal("it returns no log-probabilities for generated tokens") from exc
        if not text.strip() or not gen_lps:
            raise self._refusal("its probe generation was empty")
        echoed = self.pool.post_many([("/completions", self._echo_body(PROBE_PROMPT + text))])[0]
        echo = continuation_logprob(echoed, len(PROBE_PROMPT), len(PROBE_PROMPT) + len(text))
        tolerance = max(0.1, 0.02 * len(gen_lps))
        if abs(sum(gen_lps) - echo.logprob) > tolerance:
            raise self._refusal(
                f"its prompt log-probabilities disagree with its generation log-probabilities "
                f"({echo.logprob:.3f} vs {sum(gen_lps):.3f} nats on the same text)"
            )
        self._echo_checked = True

    def _refusal(self, why: str) -> ModelError:
        return ModelError(
            f"{self.name}: loglikelihood through this server cannot be trusted: {why}",
            hint="use a server with exact echo logprobs (e.g. vLLM), or --model llamacpp / hf on the weights",
        )
