"""The OpenAI-compatible backend over HTTP: order, retries, Retry-After, replicas, keys, the echo probe.

These tests run against a small real HTTP server started here (a word-level "toy model" that answers the
OpenAI completions protocol), with the real fault-injecting proxy in front of it; the acceptance tests against
llama.cpp's server live in test_openai_llamacpp_server.py.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from assay.errors import ModelError, UsageError
from assay.models.http import RetryPolicy, parse_retry_after
from assay.models.openai import (
    OpenAIChatModel,
    OpenAICompletionsModel,
    continuation_logprob,
    truncate_at_stop,
)
from assay.records import GenerationRequest, LoglikelihoodRequest
from assay.testing.faultproxy import FaultPlan, FaultProxy

# ------------------------------------------------------------------------------------ the toy server


def toy_tokens(text: str) -> list[str]:
    return re.findall(r"\s*\S+|\s+$", text)


def toy_logprob(token: str) -> float:
    return -0.05 - 0.1 * len(token.strip())


class ToyServer(ThreadingHTTPServer):
    """Answers /v1/models, /v1/completions (with logprobs and echo) and /v1/chat/completions."""

    daemon_threads = True

    def __init__(self, echo_skew: float = 0.0) -> None:
        super().__init__(("127.0.0.1", 0), ToyHandler)
        self.echo_skew = echo_skew  # > 0: the echoed logprobs are wrong by this much per token
        self.seen: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self.lock = threading.Lock()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ToyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ToyServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        # `created` changes on every call, as vLLM's does: the fingerprint must ignore it
        self._send(200, {"data": [{"id": "toy", "object": "model", "created": time.time(), "owned_by": "t"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with self.server.lock:
            self.server.seen.append(body)
            self.server.auth.append(self.headers.get("Authorization", ""))
        prompt = body.get("prompt") or body["messages"][-1]["content"]
        if "BAD" in prompt:
            self._send(400, {"error": {"message": "bad prompt"}})
            return
        if body.get("echo"):
            self._send(200, {"choices": [{"text": prompt + " x", "logprobs": self._echo(prompt)}]})
            return
        text = f" re:{prompt.split()[-1]} seed={body.get('seed')} t={body.get('temperature')} STOP tail"
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        if self.path.endswith("/chat/completions"):
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
            toks = toy_tokens(text)
            choice["logprobs"] = {"tokens": toks, "token_logprobs": [toy_logprob(t) for t in toks]}
        self._send(200, {"choices": [choice], "usage": {"completion_tokens": len(toy_tokens(text))}})

    def _echo(self, prompt: str) -> dict[str, Any]:
        toks = toy_tokens(prompt) + [" x"]
        offsets, pos = [], 0
        for t in toks:
            offsets.append(pos)
            pos += len(t)
        lps: list[float | None] = [toy_logprob(t) + self.server.echo_skew for t in toks]
        lps[0] = None
        tops = [None] + [{t: toy_logprob(t), "zz": -9.0} for t in toks[1:]]
        return {"tokens": toks, "token_logprobs": lps, "text_offset": offsets, "top_logprobs": tops}

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def start(server: ToyServer) -> ToyServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def toy() -> Iterator[ToyServer]:
    server = start(ToyServer())
    yield server
    server.shutdown()
    server.server_close()


FAST = {"backoff": 0.01, "max_backoff": 0.05}


def gen(prompt: str, **kw: Any) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=16, **kw)


# ---------------------------------------------------------------------------------------------- tests


def test_generation_comes_back_in_order_with_stop_sequences_cut(toy: ToyServer) -> None:
    model = OpenAICompletionsModel(base_url=toy.origin + "/v1", model="toy", concurrency=4)
    requests = [gen(f"prompt number w{i}", stop=("STOP",)) for i in range(30)]
    done: list[int] = []
    out = model.generate(requests, progress=done.append)
    assert [r.texts for r in out] == [(f" re:w{i} seed=None t=0.0 ",) for i in range(30)]
    assert sum(done) == 30
    assert out[0].finish_reasons == ("stop",) and out[0].n_tokens == (5,)


def test_every_sample_answered_exactly_once_through_faults(toy: ToyServer) -> None:
    plan = FaultPlan(drop=0.1, drop_after=0.1, error_500=0.1, rate_limit=0.1, slow=0.1, retry_after=0.05,
                     slow_seconds=0.05, max_faults_per_body=3, seed=7)  # fmt: skip
    with FaultProxy(toy.origin, plan) as proxy:
        model = OpenAICompletionsModel(base_url=proxy.url + "/v1", model="toy", concurrency=6, **FAST)
        out = model.generate([gen(f"q w{i}") for i in range(60)])
    assert [r.texts[0].split()[0] for r in out] == [f"re:w{i}" for i in range(60)]
    assert set(proxy.stats.faults) == {"drop", "drop_after", "error_500", "rate_limit", "slow"}
    assert len(proxy.delivered) == 60 and set(proxy.delivered.values()) == {1}
    # drop_after: the server did the work but the client never heard, so the server saw more calls
    assert len(toy.seen) == 60 + proxy.stats.faults["drop_after"]


def test_retry_after_is_honoured(toy: ToyServer) -> None:
    plan = FaultPlan(rate_limit=1.0, retry_after=0.6, max_faults_per_body=1)
    with FaultProxy(toy.origin, plan) as proxy:
        model = OpenAICompletionsModel(base_url=proxy.url + "/v1", model="toy", **FAST)
        started = time.monotonic()
        out = model.generate([gen("hello w")])
        elapsed = time.monotonic() - started
    assert out[0].texts[0].startswith(" re:w")
    assert proxy.stats.faults["rate_limit"] == 1
    assert elapsed >= 0.6  # the backoff alone would have waited at most 0.05 s


def test_a_call_that_times_out_is_retried(toy: ToyServer) -> None:
    plan = FaultPlan(slow=1.0, slow_seconds=1.5, max_faults_per_body=1)
    with FaultProxy(toy.origin, plan) as proxy:
        model = OpenAICompletionsModel(base_url=proxy.url + "/v1", model="toy", timeout=0.5, **FAST)
        out = model.generate([gen("late w")])
    assert out[0].texts[0].startswith(" re:w")
    assert model.pool.attempts == 2 and proxy.stats.faults["slow"] == 1


def test_spent_retries_raise_a_model_error(toy: ToyServer) -> None:
    plan = FaultPlan(error_500=1.0, max_faults_per_body=100)
    with FaultProxy(toy.origin, plan) as proxy:
        model = OpenAICompletionsModel(base_url=proxy.url + "/v1", model="toy", max_retries=2, **FAST)
        with pytest.raises(ModelError, match=r"failed after 3 attempts; last: HTTP 500"):
            model.generate([gen("a w")])
        assert model.pool.attempts == 3 and proxy.stats.received == 3


def test_unreachable_server_fails_with_a_hint() -> None:
    import socket

    with socket.socket() as s:  # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAICompletionsModel(base_url=f"http://127.0.0.1:{port}/v1", model="m", max_retries=1, **FAST)
    with pytest.raises(ModelError, match="ConnectError") as info:
        model.generate([gen("a")])
    assert "is the server up" in str(info.value)


def test_client_errors_are_not_retried(toy: ToyServer) -> None:
    model = OpenAICompletionsModel(base_url=toy.origin + "/v1", model="toy", **FAST)
    with pytest.raises(ModelError, match="HTTP 400"):
        model.generate([gen("BAD prompt")])
    assert model.pool.attempts == 1


def test_replicas_share_the_work_and_survive_a_dead_one(toy: ToyServer) -> None:
    other = start(ToyServer())
    try:
        urls = f"{toy.origin}/v1|{other.origin}/v1"
        model = OpenAICompletionsModel(base_url=urls, model="toy", concurrency=2)
        out = model.generate([gen(f"p w{i}") for i in range(40)])
        assert [r.texts[0].split()[0] for r in out] == [f"re:w{i}" for i in range(40)]
        assert len(toy.seen) > 5 and len(other.seen) > 5 and len(toy.seen) + len(other.seen) == 40
    finally:
        other.shutdown()
        other.server_close()
    # `other` is gone now: its workers fail over to the live replica
    model = OpenAICompletionsModel(base_url=urls, model="toy", concurrency=2, **FAST)
    out = model.generate([gen(f"p w{i}") for i in range(10)])
    assert [r.texts[0].split()[0] for r in out] == [f"re:w{i}" for i in range(10)]


def test_sampled_outputs_use_consecutive_seeds_and_greedy_asks_once(toy: ToyServer) -> None:
    model = OpenAIChatModel(base_url=toy.origin + "/v1", model="toy")
    sampled = model.generate([gen("s w", temperature=0.7, n=3, seed=5)])[0]
    assert sampled.texts == tuple(f" re:w seed={s} t=0.7 STOP tail" for s in (5, 6, 7))
    assert all("messages" in b for b in toy.seen)
    greedy = model.generate([gen("g w", n=3, seed=5)])[0]
    assert greedy.texts == (" re:w seed=5 t=0.0 STOP tail",) * 3 and len(toy.seen) == 4


def test_api_key_comes_from_the_named_variable_and_is_never_shown(
    toy: ToyServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOY_KEY", "sk-secret-123")
    model = OpenAICompletionsModel(base_url=toy.origin + "/v1", model="toy", api_key_env="TOY_KEY")
    with pytest.raises(ModelError) as info:
        model.generate([gen("ok w"), gen("BAD w")])
    assert toy.auth and all(a == "Bearer sk-secret-123" for a in toy.auth)
    assert "sk-secret" not in str(info.value) and "sk-secret" not in repr(model)
    with pytest.raises(UsageError, match="must not be a model argument"):
        OpenAICompletionsModel(base_url=toy.origin + "/v1", api_key="sk-secret-123")
    with pytest.raises(UsageError, match="unknown model argument.*concurency"):
        OpenAICompletionsModel(base_url=toy.origin + "/v1", concurency=3)


def test_fingerprint_ignores_the_url_and_volatile_fields(toy: ToyServer) -> None:
    other = start(ToyServer())
    try:
        a = OpenAICompletionsModel(base_url=toy.origin + "/v1").fingerprint  # model id from /models
        b = OpenAICompletionsModel(base_url=other.origin + "/v1", model="toy").fingerprint
        c = OpenAIChatModel(base_url=other.origin + "/v1", model="toy").fingerprint
        d = OpenAICompletionsModel(base_url=other.origin + "/v1", model="other").fingerprint
    finally:
        other.shutdown()
        other.server_close()
    assert a == b and len({a, c, d}) == 3


def test_loglikelihood_after_a_passing_probe(toy: ToyServer) -> None:
    model = OpenAICompletionsModel(base_url=toy.origin + "/v1", model="toy")
    reqs = [LoglikelihoodRequest(context="The sky is", continuation=" blue today"),
            LoglikelihoodRequest(context="One", continuation=" zz")]  # fmt: skip
    out = model.loglikelihood(reqs)
    assert out[0].logprob == pytest.approx(toy_logprob(" blue") + toy_logprob(" today"))
    assert out[0].n_tokens == 2 and out[0].is_greedy
    assert out[1].logprob == pytest.approx(toy_logprob(" zz"))


def test_loglikelihood_refused_when_echo_disagrees() -> None:
    server = start(ToyServer(echo_skew=2.0))
    try:
        model = OpenAICompletionsModel(base_url=server.origin + "/v1", model="toy")
        with pytest.raises(ModelError, match="cannot be trusted: its prompt log-probabilities disagree"):
            model.loglikelihood([LoglikelihoodRequest(context="a", continuation=" b")])
    finally:
        server.shutdown()
        server.server_close()
    chat = OpenAIChatModel(base_url="http://127.0.0.1:1/v1", model="m")
    with pytest.raises(ModelError, match="chat API returns no prompt log-probabilities"):
        chat.loglikelihood([LoglikelihoodRequest(context="a", continuation=" b")])


def test_continuation_tokens_include_one_that_straddles_the_boundary() -> None:
    logprobs = {
        "text_offset": [0, 3, 7, 12],
        "token_logprobs": [None, -1.0, -2.0, -4.0],
        "tokens": ["The", " sky", " blue", " x"],
    }
    answer = {"choices": [{"logprobs": logprobs}]}
    # context "The sk" ends inside " sky": that token is the continuation's first
    got = continuation_logprob(answer, start=6, end=12)
    assert (got.logprob, got.n_tokens) == (-3.0, 2)
    assert truncate_at_stop("a\n\nQ: b", ("Q:", "\n\n")) == "a"


def test_backoff_grows_with_jitter_and_retry_after_parses() -> None:
    import random

    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt, rng=rng) for _ in range(50)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling and len(set(delays)) > 1
    assert policy.delay(1, retry_after=20.0, rng=rng) >= 20.0
    assert parse_retry_after("3") == 3.0 and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == pytest.approx(10.0)
