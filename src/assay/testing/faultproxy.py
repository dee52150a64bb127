"""A fault-injecting HTTP proxy on loopback, to show that a backend survives a misbehaving server.

    plan = FaultPlan(drop=0.1, error_500=0.1, rate_limit=0.1, slow=0.1)
    with FaultProxy("http://127.0.0.1:8080", plan) as proxy:
        model = OpenAICompletionsModel(base_url=proxy.url + "/v1", model="m")
        ...
    proxy.delivered        # Counter: canonical request body -> answers actually handed to the client

Each call is, by a seeded draw, forwarded untouched or given one fault: its connection dropped before any
answer (`drop`), forwarded and then dropped so that the server did the work but the client never hears of it
(`drop_after`), a 500, a 429 with a Retry-After header, or a delay before forwarding (`slow`). A given body is
faulted at most `max_faults_per_body` times and then always passes: a client with enough retries finishes.
`delivered` counts successful answers per distinct request body: a backend that scores every sample exactly
once shows each body delivered exactly once.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import httpx

FAULTS = ("drop", "drop_after", "error_500", "rate_limit", "slow")


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities of each fault per call (they must sum to at most 1) and their parameters."""

    drop: float = 0.0
    drop_after: float = 0.0
    error_500: float = 0.0
    rate_limit: float = 0.0
    slow: float = 0.0
    retry_after: float = 0.2  # seconds, sent with each 429
    slow_seconds: float = 0.5
    max_faults_per_body: int = 2
    seed: int = 0

    def __post_init__(self) -> None:
        total = sum(getattr(self, f) for f in FAULTS)
        if total > 1.0 + 1e-9 or any(getattr(self, f) < 0 for f in FAULTS):
            raise ValueError(f"fault probabilities must be >= 0 and sum to <= 1 (got {total})")


@dataclass
class ProxyStats:
    """What the proxy saw: calls received, faults injected by kind, answers delivered per body."""

    received: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    delivered: Counter[str] = field(default_factory=Counter)


def body_key(body: bytes) -> str:
    """Canonical form of a JSON body (key order does not matter); other bodies are used as they are."""
    try:
        return json.dumps(json.loads(body), sort_keys=True)
    except ValueError:
        return body.decode("utf-8", "replace")


class FaultProxy:
    """A threaded HTTP proxy to `upstream` (an origin such as http://127.0.0.1:8080) that injects faults."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None, host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream.rstrip("/")
        self.plan = plan or FaultPlan()
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._rng = random.Random(self.plan.seed)
        self._faulted: Counter[str] = Counter()
        self._client = httpx.Client(timeout=None)
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="faultproxy", daemon=True)

    @property
    def url(self) -> str:
        """The proxy's origin, e.g. http://127.0.0.1:40123 (append /v1 for an OpenAI base_url)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def delivered(self) -> Counter[str]:
        return self.stats.delivered

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None):
        self.stop()

    def choose_fault(self, key: str) -> str | None:
        """Draw this call's fault (None: pass it through), respecting the per-body cap."""
        with self._lock:
            self.stats.received += 1
            draw = self._rng.random()
            if self._faulted[key] >= self.plan.max_faults_per_body:
                return None
            edge = 0.0
            for fault in FAULTS:
                edge += getattr(self.plan, fault)
                if draw < edge:
                    self._faulted[key] += 1
                    self.stats.faults[fault] += 1
                    return fault
            return None

    def forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """Send the call on to the upstream server unchanged."""
        return self._client.request(method, self.upstream + path, content=body or None, headers=headers)

    def record_delivery(self, key: str) -> None:
        with self._lock:
            self.stats.delivered[key] += 1


def _handler_class(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do; a drop then must close the socket

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            """Silent: tests read the counters instead."""

        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            key = f"{self.command} {self.path} {body_key(body)}"
            fault = proxy.choose_fault(key)
            if fault == "drop":
                self.close_connection = True
                return
            if fault == "error_500":
                self._reply(500, b'{"error": {"message": "injected fault"}}')
                return
            if fault == "rate_limit":
                self._reply(429, b'{"error": {"message": "slow down"}}', {"Retry-After": str(proxy.plan.retry_after)})
                return
            if fault == "slow":
                time.sleep(proxy.plan.slow_seconds)
            forward_headers = {k: v for k, v in self.headers.items() if k.lower() in {"content-type", "authorization"}}
            try:
                upstream = proxy.forward(self.command, self.path, body, forward_headers)
            except httpx.HTTPError as exc:
                self._reply(502, json.dumps({"error": {"message": f"upstream: {exc}"}}).encode())
                return
            if fault == "drop_after":
                self.close_connection = True
                return
            self._reply(
                upstream.status_code,
                upstream.content,
                {"Content-Type": upstream.headers.get("content-type", "")},
            )
            if 200 <= upstream.status_code < 300:
                proxy.record_delivery(key)

        def _reply(self, status: int, content: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in (headers or {}).items():
                if value:
                    self.send_header(name, value)
            if not (headers or {}).get("Content-Type"):
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

    return Handler
