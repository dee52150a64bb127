"""An index of one samples file: the byte offset, sample id and scores of every row, built once and cached.

The explorer never loads a whole samples file into a page. The index (a few tens of bytes a row) is what the
browser filters on; rows are read by their byte offsets when a page shows them; text search scans the file's
bytes for the words and checks only the rows that hold them.

The cache lives outside the run folder (the folder is the run's record and stays as the run wrote it):
`$ASSAY_CACHE/view-index/<hash of path, size and mtime>.json`. A file that changed gets a new index.
"""

from __future__ import annotations

import json
import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import DataError
from assay.models.aliases import cache_root
from assay.records import stable_hash

try:  # orjson parses rows 3-5x faster; plain json works the same
    import orjson

    def _loads(data: bytes) -> Any:
        return orjson.loads(data)

except ImportError:  # pragma: no cover - orjson comes with assay[view]

    def _loads(data: bytes) -> Any:
        return json.loads(data)


INDEX_VERSION = 1
SEARCH_FIELDS = ("prompt", "outputs", "choices", "prediction", "target")


@dataclass(frozen=True)
class SamplesIndex:
    path: Path
    offsets: np.ndarray  # int64, one per row plus the end of the last row
    ids: list[str]
    metrics: dict[str, list[float | None]]  # metric -> value per row (None: unscored)
    kind: str  # "choice" | "generation" | "code"

    @property
    def n(self) -> int:
        return len(self.ids)

    def client_json(self) -> dict[str, Any]:
        """What the browser filters on."""
        return {"n": self.n, "ids": self.ids, "metrics": self.metrics, "kind": self.kind}

    def read_rows(self, numbers: list[int]) -> list[dict[str, Any]]:
        """The rows of these row numbers, read by offset (the file stays closed between calls)."""
        out = []
        with self.path.open("rb") as fh:
            for i in numbers:
                if not 0 <= i < self.n:
                    raise IndexError(i)
                start, end = int(self.offsets[i]), int(self.offsets[i + 1])
                fh.seek(start)
                out.append(_loads(fh.read(end - start)))
        return out

    def search(self, query: str) -> list[int]:
        """Row numbers whose prompt, outputs, choices, prediction or target hold every word (any case)."""
        words = [w for w in query.lower().split() if w]
        if not words or self.n == 0:
            return list(range(self.n))
        candidates = self._candidates(words[0])
        hits = []
        for i, row in zip(candidates, self.read_rows(candidates), strict=True):
            text = "\n".join(_texts(row)).lower()
            if all(w in text for w in words):
                hits.append(i)
        return hits

    def _candidates(self, word: str) -> list[int]:
        """Rows whose raw bytes hold the word (as JSON escapes it): a superset of the hits, found fast."""
        needle = json.dumps(word, ensure_ascii=False)[1:-1].encode("utf-8")
        pattern = re.compile(re.escape(needle), re.IGNORECASE)
        with self.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            positions = np.fromiter((m.start() for m in pattern.finditer(data)), dtype=np.int64)
        rows = np.unique(np.searchsorted(self.offsets, positions, side="right") - 1)
        return [int(i) for i in rows if 0 <= i < self.n]


def _texts(row: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name in SEARCH_FIELDS:
        value = row.get(name)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, list):
            out.extend(v for v in value if isinstance(v, str))
    return out


def _kind(row: dict[str, Any]) -> str:
    if row.get("choices"):
        return "choice"
    if "code" in (row.get("extras") or {}) or "passed_first" in (row.get("scores") or {}):
        return "code"
    return "generation"


def build_index(path: Path) -> SamplesIndex:
    """Read the file once: offsets, ids and scores of every row (a bad row names file and line)."""
    offsets: list[int] = []
    ids: list[str] = []
    columns: dict[str, list[float | None]] = {}
    kind = "generation"
    if os.path.getsize(path) == 0:
        return SamplesIndex(path, np.zeros(1, dtype=np.int64), [], {}, kind)
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos, size = 0, len(data)
        while pos < size:
            end = data.find(b"\n", pos)
            end = size if end < 0 else end + 1
            line = data[pos:end]
            if line.strip():
                row = _row(line, path, len(ids) + 1)
                if not ids:
                    kind = _kind(row)
                offsets.append(pos)
                ids.append(str(row.get("sample_id", "")))
                for metric, value in (row.get("scores") or {}).items():
                    column = columns.setdefault(metric, [None] * (len(ids) - 1))
                    column.append(value if isinstance(value, int | float) else None)
                for column in columns.values():
                    if len(column) < len(ids):
                        column.append(None)
            pos = end
        offsets.append(size)
    array = np.asarray(offsets, dtype=np.int64)
    return SamplesIndex(path, array, ids, columns, kind)


def _row(line: bytes, path: Path, number: int) -> dict[str, Any]:
    try:
        row = _loads(line)
    except ValueError:
        raise DataError(f"{path}:{number}: not a sample row (not valid JSON)") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{number}: not a sample row (not a JSON object)")
    return row


def _cache_file(path: Path) -> Path:
    stat = path.stat()
    key = stable_hash([INDEX_VERSION, str(path.resolve()), stat.st_size, stat.st_mtime_ns], 24)
    return cache_root() / "view-index" / f"{key}.json"


def load_index(path: Path) -> SamplesIndex:
    """The cached index of a samples file, built (and cached) when there is none for its current content."""
    cache = _cache_file(path)
    if cache.exists():
        try:
            data = _loads(cache.read_bytes())
            return SamplesIndex(path, np.asarray(data["offsets"], dtype=np.int64), data["ids"],
                                data["metrics"], data["kind"])  # fmt: skip
        except (ValueError, KeyError, OSError):
            pass  # a damaged cache entry is rebuilt
    index = build_index(path)
    payload = {"offsets": index.offsets.tolist(), **index.client_json()}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache folder only costs the rebuild next time
    return index
