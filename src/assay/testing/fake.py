"""A deterministic fake backend: `--model fake`, registered like any other.

Every answer is derived from a hash of the request (and the `seed` model arg), so a run gives the same results
on any machine, in any batch order, on any number of workers. It loads nothing, which makes it the backend for
tests of the pipeline, the runner, the run writer and the cluster executor, and for simulated scale.

Model args:
    seed                 changes every answer (default 0)
    latency_request_ms   simulated time per request (default 0)
    latency_token_ms     simulated time per forwarded token (tokens counted as `estimate_tokens`; a context
                         shared by several requests of one call counts once, as the hf backend forwards it) (default 0)
    fail_rate            share of requests that raise ModelError, chosen by hash (default 0)
    crash_after          the process kills itself (SIGKILL) after answering this many requests (default: never)
    raise_after          raises RuntimeError (a stand-in for a bug in assay) after answering this many requests
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Sequence
from typing import Any

from assay.errors import ModelError, UsageError
from assay.models.base import ModelDefaults, Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    RollingRequest,
    stable_hash,
)

_WORDS = ("the", "answer", "is", "42", "def", "return", "x", "yes", "no", "Paris", "because", "so")
ARGS = ("seed", "latency_request_ms", "latency_token_ms", "fail_rate", "crash_after", "raise_after",
        "batch_size", "device")


_SLICE = 0.02  # seconds: simulated time is slept in slices at least this long


def estimate_tokens(text: str) -> int:
    """Forwarded tokens as a latency model counts them: about four characters a token."""
    return max(1, (len(text) + 3) // 4)


def _unit(*parts: Any) -> float:
    """A number in [0, 1) determined by `parts`."""
    return int(stable_hash(list(parts), 12), 16) / float(16**12)


class FakeModel(ModelDefaults):
    """Answers derived from hashes; simulated latency; seeded failures and crashes for fault tests."""

    backend = "fake"
    known_args = ARGS

    def __init__(self, name: str = "fake", **args: Any) -> None:
        unknown = sorted(set(args) - set(ARGS))
        if unknown:
            raise UsageError(
                f"unknown fake model argument(s): {', '.join(unknown)}", hint=f"known: {', '.join(ARGS)}"
            )
        try:
            self.seed = int(args.get("seed", 0))
            self.latency_request = float(args.get("latency_request_ms", 0)) / 1000
            self.latency_token = float(args.get("latency_token_ms", 0)) / 1000
            self.fail_rate = float(args.get("fail_rate", 0))
            crash = args.get("crash_after")
            self.crash_after = None if crash in (None, "") else int(crash)
            bug = args.get("raise_after")
            self.raise_after = None if bug in (None, "") else int(bug)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"bad fake model argument: {exc}", hint="numbers, e.g. seed=1,fail_rate=0.1") from exc
        if not 0 <= self.fail_rate <= 1:
            raise UsageError(f"fail_rate={self.fail_rate} is not a share between 0 and 1")
        self.name = name
        self.answered = 0
        self._owed = 0.0  # simulated seconds not slept yet (negative: slept too long before)
        self.stats: dict[str, int | float] = {"fake_requests": 0, "fake_tokens": 0}

    @property
    def fingerprint(self) -> str:
        return f"fake-v1:{self.seed}"

    def _before(self, key: str, tokens: int) -> None:
        if self.crash_after is not None and self.answered >= self.crash_after:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.raise_after is not None and self.answered >= self.raise_after:
            raise RuntimeError(f"fake backend: simulated bug after {self.answered} requests")
        if self.fail_rate and _unit(self.seed, "fail", key) < self.fail_rate:
            raise ModelError(f"fake backend: simulated failure of request {key[:12]}")
        delay = self.latency_request + self.latency_token * tokens
        if delay > 0:
            self._owed += delay
            if self._owed >= _SLICE:
                self._pay()
        self.answered += 1
        self.stats["fake_requests"] += 1
        self.stats["fake_tokens"] += tokens

    def _pay(self) -> None:
        """Sleep off the simulated time owed. Sleeping per request would add the OS's wake-up latency (0.1-1 ms
        on a loaded machine) to every 2 ms request; overshoot is credited against the next debt instead."""
        started = time.perf_counter()
        if self._owed > 0:
            time.sleep(self._owed)
        self._owed -= time.perf_counter() - started

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        out = []
        contexts: set[str] = set()  # a context shared by several requests of a call is forwarded once (as hf)
        for req in requests:
            key = req.key()
            forwarded = 0 if req.context in contexts else estimate_tokens(req.context)
            contexts.add(req.context)
            self._before(key, forwarded + estimate_tokens(req.continuation))
            n_tokens = estimate_tokens(req.continuation)
            logprob = -n_tokens * (0.5 + 3.0 * _unit(self.seed, "ll", key))
            out.append(
                LoglikelihoodResponse(
                    logprob=round(logprob, 6), is_greedy=_unit(self.seed, "g", key) < 0.2, n_tokens=n_tokens
                )
            )
            if progress:
                progress(1)
        self._pay()  # a call lasts its simulated time
        return out

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        out = []
        for req in requests:
            key = req.key()
            n_tokens = estimate_tokens(req.text)
            self._before(key, n_tokens)
            logprob = -n_tokens * (0.5 + 3.0 * _unit(self.seed, "ll", key))
            out.append(LoglikelihoodResponse(logprob=round(logprob, 6), is_greedy=False, n_tokens=n_tokens))
            if progress:
                progress(1)
        self._pay()
        return out

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        out = []
        for req in requests:
            key = req.key()
            texts = tuple(self._text(key, i, req.max_tokens) for i in range(req.n))
            self._before(key, estimate_tokens(req.prompt) + sum(estimate_tokens(t) for t in texts))
            out.append(
                GenerationResponse(
                    texts=texts,
                    finish_reasons=tuple("stop" for _ in texts),
                    n_tokens=tuple(estimate_tokens(t) for t in texts),
                )
            )
            if progress:
                progress(1)
        self._pay()
        return out

    def _text(self, key: str, i: int, max_tokens: int) -> str:
        count = 1 + int(_unit(self.seed, "len", key, i) * min(12, max(1, max_tokens)))
        return " ".join(_WORDS[int(_unit(self.seed, "w", key, i, j) * len(_WORDS))] for j in range(count))

    def close(self) -> None:
        pass
