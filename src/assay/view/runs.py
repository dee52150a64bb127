"""Which runs the explorer shows and their units: one (model, task) samples file each.

A finished run lists its units from summary.json (tasks that have a samples file); an unfinished run
(`runs/<id>.partial/`) lists the samples files its finished tasks left, read from each file's first row, and is
shown as unfinished. Every samples file is checked for a torn last line before the server starts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assay.errors import DataError, UsageError
from assay.records import RunRecord, stable_hash
from assay.runs.folder import SUMMARY, find_unfinished, read_record, resolve_run
from assay.runs.layout import PARTIAL_SUFFIX, samples_path


@dataclass(frozen=True)
class Unit:
    """The samples of one model on one task of one run."""

    key: str  # stable across sessions: a hash of (run id, model, task); used in links
    run_id: str
    model: str
    task: str
    path: Path

    @property
    def side(self) -> str:
        """The (run, model) an outcome belongs to: what the compare view and the flip filter pair."""
        return f"{self.run_id}|{self.model}"


@dataclass(frozen=True)
class ViewRun:
    run_id: str
    path: Path
    unfinished: bool
    record: RunRecord | None
    units: tuple[Unit, ...]


def unit_key(run_id: str, model: str, task: str) -> str:
    return "u" + stable_hash([run_id, model, task], 10)


def open_view_run(spec: str | Path, runs_dir: Path | None = None) -> ViewRun:
    """A finished or unfinished run, by id or folder; anything else is a one-line UsageError."""
    try:
        path = resolve_run(spec, runs_dir)
    except UsageError:
        partial = find_unfinished(spec, runs_dir)
        if partial is None:
            raise UsageError(
                f"{spec} is not a run folder (no {SUMMARY}, and no config.json of an unfinished run)",
                hint="give a run id (looked up under --runs-dir) or the path of a run folder",
            ) from None
        return _unfinished(partial)
    record = read_record(path / SUMMARY)
    units = []
    for result in record.task_results(groups=False):
        file = samples_path(path, result.model, result.task)
        if file.exists():
            units.append(Unit(unit_key(record.run_id, result.model, result.task), record.run_id,
                              result.model, result.task, file))  # fmt: skip
    return ViewRun(record.run_id, path, False, record, tuple(units))


def _unfinished(path: Path) -> ViewRun:
    run_id = path.name.removesuffix(PARTIAL_SUFFIX)
    units = []
    for file in sorted((path / "samples").glob("*.jsonl")):
        first = _first_row(file)
        if first is None:
            continue
        model, task = str(first.get("model", "")), str(first.get("task", ""))
        units.append(Unit(unit_key(run_id, model, task), run_id, model, task, file))
    return ViewRun(run_id, path, True, None, tuple(units))


def _first_row(file: Path) -> dict[str, object] | None:
    with file.open("rb") as fh:
        line = fh.readline()
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except ValueError:
        raise DataError(f"{file}:1: not a sample row (not valid JSON)") from None
    return row if isinstance(row, dict) else None


def check_complete(file: Path) -> None:
    """A samples file whose last line is cut (no newline, or not JSON) is refused, naming file and line."""
    size = file.stat().st_size
    if size == 0:
        return
    with file.open("rb") as fh:
        fh.seek(max(0, size - 1))
        last_byte = fh.read(1)
        start = max(0, size - 1 - 1_048_576)
        fh.seek(start)
        tail = fh.read()
    last = tail.rstrip(b"\n").rsplit(b"\n", 1)[-1]
    ok = last_byte == b"\n"
    if ok:
        try:
            ok = isinstance(json.loads(last), dict)
        except ValueError:
            ok = False
    if not ok:
        with file.open("rb") as fh:
            lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        number = lines + (last_byte != b"\n")
        raise DataError(
            f"{file}:{number}: torn samples file (the last line is cut)",
            hint="the file was damaged after the run wrote it; rerun the run (assay run --resume works on "
            "an unfinished one)",
        )


def open_view_runs(specs: list[str], runs_dir: Path | None = None) -> list[ViewRun]:
    """Every run named (the same run twice is shown once), each samples file checked."""
    runs: list[ViewRun] = []
    seen: set[str] = set()
    for spec in specs:
        run = open_view_run(spec, runs_dir)
        if run.run_id in seen:
            continue
        seen.add(run.run_id)
        for unit in run.units:
            check_complete(unit.path)
        runs.append(run)
    return runs
