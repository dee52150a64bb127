"""Many JSON calls to one or several replicas of an HTTP API: bounded concurrency, timeouts, retries.

    pool = HttpPool(["http://127.0.0.1:8080/v1"], concurrency=8)
    answers = pool.post_many([("/completions", {...}), ...])   # answers in order

Each replica gets `concurrency` workers that pull calls from one shared queue, so a fast replica takes more
of the work and a dead one only slows the run down. A failed attempt goes back to the queue after its backoff
(see retry.py) and any replica may pick it up; a Retry-After also pauses the replica that sent it. When one
call has spent its retries the whole batch stops with a ModelError naming the last failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import random
import ssl
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from assay.errors import ModelError
from assay.models.http.retry import RetryPolicy, is_retryable_status, parse_retry_after

T = TypeVar("T")
JSON = dict[str, Any]

_HINTS = {
    401: "the server refused the API key: set the environment variable named by api_key_env",
    403: "the server refused the API key: set the environment variable named by api_key_env",
    404: "check base_url (it usually ends in /v1) and the model id",
}


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, also when the caller already runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    # inside a running loop (a notebook, an async caller): give the work its own loop in a thread
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(lambda: asyncio.run(factory())).result()


@dataclass
class _Replica:
    base_url: str
    paused_until: float = 0.0  # loop time before which this replica gets no new calls (Retry-After, failures)
    failures: int = 0  # consecutive connection failures; while > 0 only one call at a time probes it
    probe: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass
class _Call:
    index: int
    method: str
    path: str
    payload: JSON | None
    attempts: int = 0


@dataclass
class _Outcome:
    data: Any = None
    retry_reason: str = ""
    retry_after: float | None = None
    transport: bool = False  # no HTTP answer at all: the replica itself may be down
    fatal: ModelError | None = None


@dataclass
class _Batch:
    results: list[Any]
    remaining: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    error: BaseException | None = None

    def fail(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error
        self.done.set()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: building it costs ~0.1 s, and every batch opens a client."""
    import certifi

    return ssl.create_default_context(cafile=certifi.where())


async def _wait_until(when: float) -> None:
    pause = when - asyncio.get_running_loop().time()
    if pause > 0:
        await asyncio.sleep(pause)


class HttpPool:
    """Sends batches of JSON requests to replicas of one API and returns the decoded answers in order."""

    def __init__(
        self,
        base_urls: Sequence[str],
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 300.0,
        connect_timeout: float = 10.0,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
    ) -> None:
        if not base_urls:
            raise ModelError("no base_url given", hint="e.g. base_url=http://127.0.0.1:8080/v1")
        self.base_urls = tuple(u.rstrip("/") for u in base_urls)
        self._headers = dict(headers or {})  # may hold the API key: never printed, never in an error message
        self.timeout = httpx.Timeout(timeout, connect=connect_timeout)
        self.concurrency = max(1, int(concurrency))
        self.retry = retry or RetryPolicy()
        self._rng = random.Random()
        self.attempts = 0  # every HTTP attempt made, retries included (for stats and tests)

    def post_many(self, calls: Sequence[tuple[str, JSON]], on_done: Callable[[int], None] | None = None) -> list[Any]:
        """POST each (path, payload) and return the decoded JSON answers in the same order.

        `on_done(i)` is called as soon as call i has its answer (drives progress bars).
        """
        jobs = [_Call(i, "POST", path, payload) for i, (path, payload) in enumerate(calls)]
        return run_sync(lambda: self._run(jobs, on_done))

    def get(self, path: str) -> Any:
        """GET one path (from whichever replica answers) and return the decoded JSON."""
        return run_sync(lambda: self._run([_Call(0, "GET", path, None)], None))[0]

    async def _run(self, calls: list[_Call], on_done: Callable[[int], None] | None) -> list[Any]:
        if not calls:
            return []
        batch = _Batch(results=[None] * len(calls), remaining=len(calls))
        queue: asyncio.Queue[_Call] = asyncio.Queue()
        for call in calls:
            queue.put_nowait(call)
        replicas = [_Replica(u) for u in self.base_urls]
        n_conn = self.concurrency * len(replicas)
        limits = httpx.Limits(max_connections=n_conn, max_keepalive_connections=n_conn)
        # plain-http replicas (local servers) need no TLS context at all
        tls: ssl.SSLContext | bool = _tls_context() if any(u.startswith("https") for u in self.base_urls) else False
        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers, limits=limits, verify=tls) as client:
            workers = [
                asyncio.create_task(self._worker(client, replica, queue, batch, on_done))
                for replica in replicas
                for _ in range(min(self.concurrency, len(calls)))
            ]
            try:
                await batch.done.wait()
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
        if batch.error is not None:
            raise batch.error
        return batch.results

    async def _worker(
        self,
        client: httpx.AsyncClient,
        replica: _Replica,
        queue: asyncio.Queue[_Call],
        batch: _Batch,
        on_done: Callable[[int], None] | None,
    ) -> None:
        try:
            while True:
                await _wait_until(replica.paused_until)
                if replica.failures:
                    # a replica that just failed gets one call at a time until it answers again
                    async with replica.probe:
                        await _wait_until(replica.paused_until)
                        await self._serve_one(client, replica, queue, batch, on_done)
                else:
                    await self._serve_one(client, replica, queue, batch, on_done)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug or a failing progress callback must end the batch, not hang it
            batch.fail(exc)

    async def _serve_one(
        self,
        client: httpx.AsyncClient,
        replica: _Replica,
        queue: asyncio.Queue[_Call],
        batch: _Batch,
        on_done: Callable[[int], None] | None,
    ) -> None:
        call = await queue.get()
        outcome = await self._attempt(client, replica, call)
        if outcome.fatal is not None:
            batch.fail(outcome.fatal)
            return
        if outcome.retry_reason:
            if outcome.transport:
                replica.failures += 1
                hold = self.retry.delay(replica.failures, rng=self._rng)
                replica.paused_until = max(replica.paused_until, asyncio.get_running_loop().time() + hold)
            self._reschedule(call, outcome, replica, queue, batch)
            return
        replica.failures = 0
        batch.results[call.index] = outcome.data
        batch.remaining -= 1
        if on_done is not None:
            on_done(call.index)
        if batch.remaining == 0:
            batch.done.set()

    def _reschedule(
        self, call: _Call, outcome: _Outcome, replica: _Replica, queue: asyncio.Queue[_Call], batch: _Batch
    ) -> None:
        call.attempts += 1
        if call.attempts > self.retry.max_retries:
            batch.fail(
                ModelError(
                    f"request failed after {call.attempts} attempts; last: {outcome.retry_reason}",
                    hint="is the server up and reachable? raise max_retries or lower concurrency",
                )
            )
            return
        loop = asyncio.get_running_loop()
        if outcome.retry_after is not None:
            hold = min(outcome.retry_after, self.retry.max_retry_after)
            replica.paused_until = max(replica.paused_until, loop.time() + hold)
        loop.call_later(self.retry.delay(call.attempts, outcome.retry_after, self._rng), queue.put_nowait, call)

    async def _attempt(self, client: httpx.AsyncClient, replica: _Replica, call: _Call) -> _Outcome:
        url = replica.base_url + call.path
        self.attempts += 1
        try:
            response = await client.request(call.method, url, json=call.payload)
        except httpx.TransportError as exc:  # refused, dropped, reset, timed out
            return _Outcome(retry_reason=f"{type(exc).__name__} from {url}: {exc}".rstrip(": "), transport=True)
        status = response.status_code
        if 200 <= status < 300:
            try:
                return _Outcome(data=response.json())
            except ValueError:  # a body cut short by a dropped connection
                return _Outcome(retry_reason=f"unreadable JSON from {url}")
        excerpt = " ".join(response.text.split())[:200]
        reason = f"HTTP {status} from {url}: {excerpt}"
        if is_retryable_status(status):
            return _Outcome(retry_reason=reason, retry_after=parse_retry_after(response.headers.get("retry-after")))
        return _Outcome(fatal=ModelError(reason, hint=_HINTS.get(status)))
