"""A persistent cache of generations, wrapped around any Model, so a judgment is never paid for twice.

The key is the model's fingerprint plus the request's own key (prompt or messages, decoding settings and
seed), so a different judge, prompt, temperature or retry seed is a different entry. Entries are written as
each batch finishes: an interrupted MT-Bench run resumes from what was already judged.

(When the shared response cache of the model layer can be used instead, this wrapper is the one place to
swap; the judge only sees a Model.)
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from assay.models.base import Model, Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    stable_hash,
)

_SCHEMA = "CREATE TABLE IF NOT EXISTS generations (key TEXT PRIMARY KEY, response TEXT NOT NULL)"


class GenerationCache:
    """sqlite file of {key: GenerationResponse as JSON}; safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get_many(self, keys: Sequence[str]) -> dict[str, GenerationResponse]:
        """The cached responses among `keys`."""
        found: dict[str, GenerationResponse] = {}
        with self._lock:
            for start in range(0, len(keys), 500):  # sqlite caps the number of bound parameters
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, response FROM generations WHERE key IN ({marks})", chunk
                )
                for key, text in rows:
                    data = json.loads(text)
                    found[key] = GenerationResponse(
                        texts=tuple(data["texts"]),
                        finish_reasons=tuple(data.get("finish_reasons", ())),
                        n_tokens=tuple(data.get("n_tokens", ())),
                    )
        return found

    def put_many(self, items: dict[str, GenerationResponse]) -> None:
        """Store responses (one transaction)."""
        rows = [
            (key, json.dumps({"texts": r.texts, "finish_reasons": r.finish_reasons, "n_tokens": r.n_tokens}))
            for key, r in items.items()
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO generations (key, response) VALUES (?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedModel:
    """A Model whose generate() answers from the cache when it can and stores what it computes.

    `hits` and `misses` count requests, for the run's stats.
    """

    def __init__(self, model: Model, cache: GenerationCache, chunk_size: int = 8) -> None:
        self.inner = model
        self.chunk_size = chunk_size
        self.cache = cache
        self.name = model.name
        self.backend = model.backend
        self.hits = 0
        self.misses = 0

    @property
    def fingerprint(self) -> str:
        return self.inner.fingerprint

    def key(self, request: GenerationRequest) -> str:
        """Cache key: the weights' fingerprint and everything in the request."""
        return stable_hash([self.inner.fingerprint, request.key()], 40)

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        """Cached responses where present; the rest computed in chunks, each stored as soon as it is done."""
        keys = [self.key(r) for r in requests]
        found = self.cache.get_many(keys)
        todo = [i for i, k in enumerate(keys) if k not in found]
        self.hits += len(requests) - len(todo)
        self.misses += len(todo)
        if progress is not None and len(todo) < len(requests):
            progress(len(requests) - len(todo))
        for start in range(0, len(todo), self.chunk_size):
            chunk = todo[start : start + self.chunk_size]
            computed = self.inner.generate([requests[i] for i in chunk], progress)
            fresh = {keys[i]: resp for i, resp in zip(chunk, computed, strict=True)}
            self.cache.put_many(fresh)
            found.update(fresh)
        return [found[k] for k in keys]

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """Not cached here: judges only generate."""
        return self.inner.loglikelihood(requests, progress)

    def close(self) -> None:
        self.cache.close()
        self.inner.close()
