"""Response cache and run journal: SQLite stores keyed by a hash of (model fingerprint, request).

`CachedModel` wraps any backend. It answers what the stores already hold, sends the rest to the backend in
fixed chunks (in request order), and commits each chunk in one transaction before sending the next. A run
killed at any point loses at most the chunk in flight; started again, it forms the same chunks from the
same pending requests, so the recomputed part is batched exactly as before and results are identical.

Two stores are used by a run: the user's cache (ASSAY_CACHE, shared across runs, skipped by --no-cache)
and the run's own journal (runs/<id>/responses.sqlite), which --resume reads even when the cache is off.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from assay.models.base import Model, Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    stable_hash,
)

Req = TypeVar("Req", LoglikelihoodRequest, GenerationRequest)
Resp = TypeVar("Resp", LoglikelihoodResponse, GenerationResponse)


def _dump(resp: LoglikelihoodResponse | GenerationResponse) -> str:
    if isinstance(resp, LoglikelihoodResponse):
        return json.dumps({"lp": resp.logprob, "g": resp.is_greedy, "n": resp.n_tokens})
    return json.dumps({"t": list(resp.texts), "f": list(resp.finish_reasons), "n": list(resp.n_tokens)})


def _load(text: str) -> LoglikelihoodResponse | GenerationResponse:
    d = json.loads(text)
    if "lp" in d:
        return LoglikelihoodResponse(logprob=float(d["lp"]), is_greedy=bool(d["g"]), n_tokens=int(d["n"]))
    return GenerationResponse(texts=tuple(d["t"]), finish_reasons=tuple(d["f"]), n_tokens=tuple(d["n"]))


class ResponseStore:
    """A SQLite key -> response table; WAL mode so several runs can share the user cache."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, LoglikelihoodResponse | GenerationResponse]:
        found: dict[str, LoglikelihoodResponse | GenerationResponse] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, value in self._db.execute(
                f"SELECT key, value FROM responses WHERE key IN ({marks})", part
            ):
                found[key] = _load(value)
        return found

    def put_many(self, items: Sequence[tuple[str, LoglikelihoodResponse | GenerationResponse]]) -> None:
        """All items in one transaction: a chunk is stored whole or not at all."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                [(k, _dump(v)) for k, v in items],
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedModel:
    """A Model that reads from `readers`, computes the rest in chunks, and commits each chunk to `writers`."""

    def __init__(
        self,
        inner: Model,
        readers: Sequence[ResponseStore],
        writers: Sequence[ResponseStore],
        chunk_size: int = 128,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.backend = inner.backend
        self.readers = list(readers)
        self.writers = list(writers)
        self.chunk_size = chunk_size
        # seconds_*: time inside the backend's loglikelihood/generate calls (the scoring phase alone)
        self.stats: dict[str, int | float] = {
            "requests_total": 0,
            "requests_cached": 0,
            "requests_computed": 0,
            "seconds_loglikelihood": 0.0,
            "seconds_generate": 0.0,
        }

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def _key(self, req: LoglikelihoodRequest | GenerationRequest) -> str:
        return stable_hash({"model": self.inner.fingerprint, "req": req.key()}, 40)

    def _run(
        self,
        requests: Sequence[Req],
        compute: Callable[[list[Req], Progress | None], list[Any]],
        progress: Progress | None,
        chunk_size: int,
        timer: str,
    ) -> list[Any]:
        keys = [self._key(r) for r in requests]
        known: dict[str, Any] = {}
        for store in self.readers:
            missing = [k for k in keys if k not in known]
            if not missing:
                break
            known.update(store.get_many(missing))
        # identical requests are computed once
        pending_keys = list(dict.fromkeys(k for k in keys if k not in known))
        first_index = {k: i for i, k in reversed(list(enumerate(keys)))}
        self.stats["requests_total"] += len(requests)
        self.stats["requests_cached"] += len(requests) - sum(1 for k in keys if k not in known)
        if progress:
            progress(sum(1 for k in keys if k in known))
        for start in range(0, len(pending_keys), chunk_size):
            chunk = pending_keys[start : start + chunk_size]
            started = time.perf_counter()
            results = compute([requests[first_index[k]] for k in chunk], progress)
            self.stats[timer] = round(self.stats[timer] + time.perf_counter() - started, 3)
            items = list(zip(chunk, results, strict=True))
            for store in self.writers:
                store.put_many(items)
            known.update(items)
            in_chunk = set(chunk)
            done = sum(1 for k in keys if k in in_chunk)
            self.stats["requests_computed"] += len(chunk)
            if progress and done > len(chunk):  # duplicates of computed requests
                progress(done - len(chunk))
        return [known[k] for k in keys]

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        chunk = self.chunk_size
        return self._run(requests, self.inner.loglikelihood, progress, chunk, "seconds_loglikelihood")

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        # generation is slow per request: commit often, unless the backend wants more in flight (HTTP servers)
        hint = getattr(self.inner, "preferred_chunk_size", None)
        chunk = int(hint) if hint else max(1, self.chunk_size // 8)
        return self._run(requests, self.inner.generate, progress, chunk, "seconds_generate")

    def close(self) -> None:
        self.inner.close()
        for store in {id(s): s for s in self.readers + self.writers}.values():
            store.close()
