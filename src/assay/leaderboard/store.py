"""data/leaderboard.csv: one row per model x task x metric, appended by every run, under a lock.

Appends take an exclusive file lock, write all of a run's rows in one write() and fsync, so concurrent writers
lose nothing and a reader never sees half a run. Reading never drops a row silently: a torn or foreign line is
returned as a problem with its line number.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from assay.errors import DataError
from assay.records import RunRecord

DEFAULT_LEADERBOARD = Path("data") / "leaderboard.csv"
COLUMNS = (
    "model",
    "model_version",
    "model_fingerprint",
    "benchmark",
    "dataset",
    "dataset_sha256",
    "metric",
    "score",
    "stderr",
    "n",
    "eval_date",
    "run_id",
    "git_sha",
)


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    model_version: str
    model_fingerprint: str
    benchmark: str
    dataset: str
    dataset_sha256: str
    metric: str
    score: float
    stderr: float | None
    n: int
    eval_date: str
    run_id: str
    git_sha: str

    def as_csv_row(self) -> list[str]:
        stderr = "" if self.stderr is None or math.isnan(self.stderr) else repr(float(self.stderr))
        return [
            self.model,
            self.model_version,
            self.model_fingerprint,
            self.benchmark,
            self.dataset,
            self.dataset_sha256,
            self.metric,
            repr(float(self.score)),
            stderr,
            str(int(self.n)),
            self.eval_date,
            self.run_id,
            self.git_sha,
        ]


@dataclass(frozen=True)
class Problem:
    line: int
    text: str
    reason: str


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=60)


def check_appendable(path: Path) -> None:
    """Refuse, before any work, a leaderboard path rows cannot be appended to: a folder, a file in another format
    (a CSV whose header is not a leaderboard's), bytes that are not UTF-8, or a place that cannot be written."""
    hint = "pass --leaderboard FILE naming a leaderboard CSV (or a new file)"
    if path.is_dir():
        raise DataError(f"the leaderboard path {path} is a folder, not a CSV file", hint=hint)
    if path.exists():
        _check_header(path, hint)
        if not os.access(path, os.W_OK):
            raise DataError(f"the leaderboard {path} is not writable", hint=hint)
        return
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"the leaderboard {path} cannot be created ({parent} is not a writable folder)", hint=hint)


def _check_header(path: Path, hint: str) -> None:
    with path.open("rb") as fh:
        first = fh.readline()
    if not first.strip():
        return
    try:
        header = next(csv.reader([first.decode("utf-8-sig").rstrip("\r\n")]))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text, so not a leaderboard CSV", hint=hint) from None
    if tuple(header) != COLUMNS:
        shown = ",".join(header)[:80]
        raise DataError(f"{path} is not a leaderboard: its header is {shown!r}; nothing was appended", hint=hint)


def append_rows(rows: Iterable[LeaderboardRow], path: Path = DEFAULT_LEADERBOARD) -> int:
    """Append rows atomically (one locked write); writes the header when the file is new. Returns count.
    A file in another format is refused (DataError), never appended to."""
    rows = list(rows)
    if not rows:
        return 0
    check_appendable(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        writer.writerow(row.as_csv_row())
    with _lock(path):
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            _check_header(path, "pass --leaderboard FILE naming a leaderboard CSV")  # again, under the lock
        payload = buf.getvalue()
        if new:
            head = io.StringIO()
            csv.writer(head, lineterminator="\n").writerow(COLUMNS)
            payload = head.getvalue() + payload
        else:
            # a previous writer killed mid-line must not glue its torn line onto ours
            with path.open("rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    payload = "\n" + payload
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, payload.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    return len(rows)


def _parse(record: Mapping[str, str]) -> LeaderboardRow:
    stderr = record["stderr"]
    return LeaderboardRow(
        model=record["model"],
        model_version=record["model_version"],
        model_fingerprint=record["model_fingerprint"],
        benchmark=record["benchmark"],
        dataset=record["dataset"],
        dataset_sha256=record["dataset_sha256"],
        metric=record["metric"],
        score=float(record["score"]),
        stderr=float(stderr) if stderr else None,
        n=int(record["n"]),
        eval_date=record["eval_date"],
        run_id=record["run_id"],
        git_sha=record["git_sha"],
    )


def read_rows(path: Path = DEFAULT_LEADERBOARD) -> tuple[list[LeaderboardRow], list[Problem]]:
    """All valid rows, and every line that is not one (with its line number and why)."""
    if not path.exists():
        raise DataError(
            f"no leaderboard at {path}", hint="run `assay run ...` first or pass --leaderboard FILE"
        )
    rows: list[LeaderboardRow] = []
    problems: list[Problem] = []
    if path.is_dir():
        raise DataError(f"the leaderboard path {path} is a folder, not a CSV file", hint="pass --leaderboard FILE")
    try:
        # reading never creates the lock file: a file no assay writer ever locked needs no lock (and a foreign
        # file gets no <name>.lock next to it)
        lock = _lock(path) if Path(str(path) + ".lock").exists() else contextlib.nullcontext()
        with lock, path.open(encoding="utf-8-sig", newline="") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}), so not a leaderboard CSV") from None
    if not lines:
        return rows, problems
    header = next(csv.reader([lines[0]]))
    if tuple(header) != COLUMNS:
        raise DataError(f"{path}: the header is not assay's leaderboard header", hint=",".join(COLUMNS))
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(COLUMNS):
            problems.append(Problem(number, line, f"{len(fields)} fields, expected {len(COLUMNS)}"))
            continue
        try:
            rows.append(_parse(dict(zip(COLUMNS, fields, strict=True))))
        except ValueError as exc:
            problems.append(Problem(number, line, f"bad value: {exc}"))
    return rows, problems


def rows_from_record(record: RunRecord) -> list[LeaderboardRow]:
    """The leaderboard rows of one run: one per model x task x metric."""
    models = {m.name: m for m in record.models}
    out = []
    for result in record.results:
        model = models.get(result.model)
        for metric, mv in result.metrics.items():
            out.append(
                LeaderboardRow(
                    model=result.model,
                    model_version=model.version if model else "",
                    model_fingerprint=model.fingerprint if model else "",
                    benchmark=result.task,
                    dataset=result.dataset,
                    dataset_sha256=result.dataset_sha256,
                    metric=metric,
                    score=float(mv.value),
                    stderr=mv.stderr,
                    n=mv.n,
                    eval_date=record.created,
                    run_id=record.run_id,
                    git_sha=record.git_sha,
                )
            )
    return out
