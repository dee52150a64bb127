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


INDEX_VERSION = 2
SEARCH_FIELDS = ("prompt", "outputs", "choices", "prediction", "target")
# The run writer writes a row's keys in SampleResult.to_json's order with json.dumps' separators, so the searched
# texts are the two byte ranges [prompt, loglikelihoods) and [outputs, correct) of the line. A row laid out
# otherwise (another writer) is searched whole.
_KEYS = (b'"prompt": ', b', "loglikelihoods": ', b', "outputs": ', b', "correct": ')
_SCORES = b', "scores": {'
_ID = b'{"sample_id": '


@dataclass(frozen=True)
class SamplesIndex:
    path: Path
    offsets: np.ndarray  # int64, one per row plus the end of the last row
    ids: list[str]
    metrics: dict[str, list[float | None]]  # metric -> value per row (None: unscored)
    kind: str  # "choice" | "generation" | "code"
    regions: np.ndarray  # int32 (n, 4): where the searched texts are in each line (see _KEYS)

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
        """Row numbers whose prompt, choices, outputs, prediction or target hold every word of the query (ASCII
        letters in any case; a word as the samples file writes it, e.g. a quote as \\")."""
        words = [w for w in query.lower().split() if w]
        if not words or self.n == 0:
            return list(range(self.n))
        with self.path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            found: set[int] | None = None
            for word in words:
                rows = self._rows_with(data, word)
                found = rows if found is None else found & rows
        return sorted(found or ())

    def _rows_with(self, data: mmap.mmap, word: str) -> set[int]:
        needle = json.dumps(word, ensure_ascii=False)[1:-1].encode("utf-8")
        pattern = re.compile(re.escape(needle), re.IGNORECASE)
        # one match per line (the word's first place in it, then the rest of the line is skipped)
        first = np.fromiter((m.start() for m in re.finditer(re.escape(needle) + rb"[^\n]*", data, re.IGNORECASE)),
                            dtype=np.int64)  # fmt: skip
        rows = np.searchsorted(self.offsets, first, side="right") - 1
        rel = first - self.offsets[rows]
        reg = self.regions[rows]
        inside = ((rel >= reg[:, 0]) & (rel < reg[:, 1])) | ((rel >= reg[:, 2]) & (rel < reg[:, 3]))
        hits = set(rows[inside].tolist())
        # the first place was before or between the texts (the sample id, the loglikelihoods): look again there
        for i in rows[~inside & (rel < reg[:, 3])].tolist():
            base = int(self.offsets[i])
            a, b, c, d = (base + int(x) for x in self.regions[i])
            if pattern.search(data, a, b) or pattern.search(data, c, d):
                hits.add(i)
        return hits


def _kind(row: dict[str, Any]) -> str:
    if row.get("choices"):
        return "choice"
    if "code" in (row.get("extras") or {}) or "passed_first" in (row.get("scores") or {}):
        return "code"
    return "generation"


def _fields(line: bytes, path: Path, number: int) -> tuple[str, dict[str, Any], list[int]]:
    """(sample id, scores, text regions) of one line: read from the writer's layout without parsing the
    whole row; any other layout is parsed whole."""
    try:
        marks = [line.find(key) for key in _KEYS]
        s = line.find(_SCORES, marks[3])
        if line.startswith(_ID) and min(marks) > 0 and marks == sorted(marks) and s > 0:
            sample_id = _loads(line[len(_ID) : line.index(b', "task": ')])
            scores = _loads(line[s + len(_SCORES) - 1 : line.index(b"}", s) + 1])
            return str(sample_id), scores, marks
    except ValueError:
        pass
    row = _row(line, path, number)
    return str(row.get("sample_id", "")), row.get("scores") or {}, [0, len(line), 0, 0]


def build_index(path: Path) -> SamplesIndex:
    """Read the file once: offsets, ids, scores and text regions of every row (a bad row names file and line)."""
    offsets: list[int] = []
    ids: list[str] = []
    regions: list[list[int]] = []
    columns: dict[str, list[float | None]] = {}
    kind = "generation"
    if os.path.getsize(path) == 0:
        return SamplesIndex(path, np.zeros(1, dtype=np.int64), [], {}, kind, np.zeros((0, 4), dtype=np.int32))
    with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        pos, size = 0, len(data)
        while pos < size:
            end = data.find(b"\n", pos)
            end = size if end < 0 else end + 1
            line = data[pos:end]
            if line.strip():
                if not ids:
                    kind = _kind(_row(line, path, 1))
                sample_id, scores, marks = _fields(line, path, len(ids) + 1)
                offsets.append(pos)
                ids.append(sample_id)
                regions.append(marks)
                for metric, value in scores.items():
                    column = columns.setdefault(metric, [None] * (len(ids) - 1))
                    column.append(value if isinstance(value, int | float) else None)
                for column in columns.values():
                    if len(column) < len(ids):
                        column.append(None)
            pos = end
        offsets.append(size)
    return SamplesIndex(path, np.asarray(offsets, dtype=np.int64), ids, columns, kind,
                        np.asarray(regions, dtype=np.int32).reshape(-1, 4))  # fmt: skip


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
            regions = np.asarray(data["regions"], dtype=np.int32).reshape(-1, 4)
            return SamplesIndex(path, np.asarray(data["offsets"], dtype=np.int64), data["ids"],
                                data["metrics"], data["kind"], regions)  # fmt: skip
        except (ValueError, KeyError, OSError):
            pass  # a damaged cache entry is rebuilt
    index = build_index(path)
    payload = {"offsets": index.offsets.tolist(), "regions": index.regions.tolist(), **index.client_json()}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, cache)
    except OSError:
        pass  # a read-only cache folder only costs the rebuild next time
    return index
