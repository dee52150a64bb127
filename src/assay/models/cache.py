"""Response cache and run journal: SQLite stores keyed by a hash of (model fingerprint, request).

`CachedModel` wraps a backend (or an executor: assay.execution, which carries the identity of the model it
computes with). It forms units of work from the full request
lists by the one rule in assay.execution.units, answers the units the stores already hold whole, has the
executor compute the rest, and commits each finished unit to the stores in one transaction as it finishes. A
run killed at any point loses only the units in flight; started again (with any executor or worker count) it
forms the same units, so what is recomputed is batched exactly as before and results are identical. Keys
depend on the model fingerprint and the request only, never on a worker or rank.

Two stores are used by a run: the user's cache (ASSAY_CACHE, shared across runs, skipped by --no-cache)
and the run's own journal (runs/<id>/responses.sqlite), which --resume reads even when the cache is off.
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.execution.base import Executor
from assay.execution.kinds import KINDS, Kind, dump_response, load_response
from assay.execution.local import LocalExecutor
from assay.execution.units import Unit, WorkList, form_units
from assay.models.base import Model, Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Request,
    Response,
    RollingRequest,
    stable_hash,
)


class ResponseStore:
    """A SQLite key -> response table; WAL mode so several runs can share the user cache."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(str(path), timeout=60, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL)")

    def get_many(self, keys: Sequence[str]) -> dict[str, Response]:
        found: dict[str, Response] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            marks = ",".join("?" * len(part))
            for key, value in self._db.execute(
                f"SELECT key, value FROM responses WHERE key IN ({marks})", part
            ):
                found[key] = load_response(value)
        return found

    def put_many(self, items: Sequence[tuple[str, Response]]) -> None:
        """All items in one transaction: a chunk is stored whole or not at all."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR REPLACE INTO responses (key, value) VALUES (?, ?)",
                [(k, dump_response(v)) for k, v in items],
            )

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachedModel:
    """A Model that reads whole units from `readers`, computes the rest, and commits each unit to `writers`."""

    def __init__(
        self,
        inner: Model | Executor,
        readers: Sequence[ResponseStore],
        writers: Sequence[ResponseStore],
        chunk_size: int = 128,
    ) -> None:
        self.executor: Executor = inner if isinstance(inner, Executor) else LocalExecutor(inner)
        loaded = self.executor.loaded
        self.name = loaded.name
        self.backend = loaded.backend
        self.readers = list(readers)
        self.writers = list(writers)
        self.chunk_size = chunk_size  # requests per scoring unit; generation units are smaller (below)
        # seconds_*: time spent computing units of that kind (the scoring phase alone)
        self.stats: dict[str, int | float] = {
            "requests_total": 0,
            "requests_cached": 0,
            "requests_computed": 0,
            "units_total": 0,
            "units_computed": 0,
            "seconds_loglikelihood": 0.0,
            "seconds_generate": 0.0,
        }

    @property
    def fingerprint(self) -> str:
        return self.executor.loaded.fingerprint

    @property
    def version(self) -> str:
        return self.executor.loaded.version

    @property
    def preferred_chunk_size(self) -> int | None:
        return None  # it forms its own units (generate_unit_size) from whole request lists

    @property
    def generate_unit_size(self) -> int:
        # generation is slow per request: commit often, unless the backend wants more in flight (HTTP servers)
        return self.executor.generate_unit_hint or max(1, self.chunk_size // 8)

    def key(self, req: Request) -> str:
        """The cache and journal key of a request: model fingerprint + request, nothing else."""
        return stable_hash({"model": self.fingerprint, "req": req.key()}, 40)

    def work_list(self, label: str, kind: Kind, requests: Sequence[Request]) -> WorkList:
        return WorkList(label, kind, tuple(requests), tuple(self.key(r) for r in requests))

    def run_lists(self, lists: Sequence[WorkList], progress: Progress | None = None) -> list[list[Any]]:
        """Responses for several request lists at once (a run's tasks), so that all their units are in one queue."""
        units = form_units(lists, self.chunk_size, self.generate_unit_size)
        occurrences = Counter(k for work in lists for k in work.keys)
        known = self._lookup(list(occurrences))
        todo = [u for u in units if not all(k in known for k in u.keys)]
        computed = sum(occurrences[k] for u in todo for k in u.keys)
        total = sum(occurrences.values())
        self.stats["requests_total"] += total
        self.stats["requests_cached"] += total - computed
        self.stats["units_total"] += len(units)
        if progress:
            progress(total - computed)

        def done(unit: Unit, responses: list[Response]) -> None:
            items = list(zip(unit.keys, responses, strict=True))
            for store in self.writers:
                store.put_many(items)
            known.update(items)  # a recomputed unit's own answers win over partial cache hits
            self.stats["requests_computed"] += len(unit.keys)
            self.stats["units_computed"] += 1
            duplicates = sum(occurrences[k] - 1 for k in unit.keys)
            if progress and duplicates:
                progress(duplicates)

        for kind in KINDS:
            started = time.perf_counter()
            part = [u for u in todo if u.kind == kind]
            if part:
                self.executor.run(part, done, progress)
                timer = f"seconds_{kind}"
                self.stats[timer] = round(self.stats.get(timer, 0.0) + time.perf_counter() - started, 3)
        return [[known[k] for k in work.keys] for work in lists]

    def _lookup(self, keys: list[str]) -> dict[str, Any]:
        known: dict[str, Any] = {}
        for store in self.readers:
            missing = [k for k in keys if k not in known]
            if not missing:
                break
            known.update(store.get_many(missing))
        return known

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        return self.run_lists([self.work_list("loglikelihood", "loglikelihood", requests)], progress)[0]

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        return self.run_lists([self.work_list("rolling", "rolling", requests)], progress)[0]

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        return self.run_lists([self.work_list("generate", "generate", requests)], progress)[0]

    def close(self) -> None:
        self.executor.close()
        for store in {id(s): s for s in self.readers + self.writers}.values():
            store.close()
