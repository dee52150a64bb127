"""The one writer of run folders: `assay run`, `assay judge mtbench`, `assay score` and cluster runs use it.

    writer = RunWriter.start(Path("runs"), config_json)     # runs/<id>.partial/config.json
    writer.journal_path                                     # responses.sqlite, for the response journal
    writer.write_samples(model, task, results)              # samples/<model>_<task>.jsonl, as each task ends
    done = writer.finish(record, leaderboard=..., trackers=[...])

`finish` writes summary.json and metrics.json into the unfinished folder, renames it to runs/<id>/ in one step
(a reader never sees a half-written run), then appends the leaderboard rows, then hands the folder to each
tracker, in that order. A later step failing never undoes an earlier one: a tracker that fails becomes a
warning naming the command that retries it. An interrupted or failed run keeps its `.partial` folder for
`assay run --resume`; one that did no work is discarded, leaving nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import AssayError, UsageError
from assay.records import RunRecord, SampleResult
from assay.runs.folder import CONFIG, METRICS, SUMMARY
from assay.runs.layout import (
    PARTIAL_SUFFIX,
    new_run_id,
    samples_path,
    settle_modes,
    write_json_atomic,
    write_jsonl_atomic,
)

JOURNAL = "responses.sqlite"

# (what it is, for the warning; the command that retries it; the call, which may return where it logged)
Tracker = tuple[str, str, Callable[[Path], str | None]]


@dataclass(frozen=True)
class Finished:
    """Where the finished run lives, where trackers logged it, and what went wrong after it was safely written."""

    path: Path
    warnings: tuple[str, ...] = ()
    logged: tuple[str, ...] = ()  # one line per tracker that logged the run: where (for the user)


class RunWriter:
    """Owns runs/<id>.partial/ until `finish` renames it to runs/<id>/."""

    def __init__(self, partial: Path, final: Path, created: tuple[Path, ...] = ()) -> None:
        self.partial = partial
        self.final = final
        self.created = created  # parent folders start() made, removed again by discard() when left empty

    @classmethod
    def start(cls, output: Path, config: dict[str, Any], *, run_dir: Path | None = None) -> RunWriter:
        """A new unfinished run under `output` (or at exactly `run_dir`), with its config written."""
        final = run_dir if run_dir is not None else output / new_run_id()
        if final.name.endswith(PARTIAL_SUFFIX):
            raise UsageError(f"a run folder may not end in {PARTIAL_SUFFIX}: {final}")
        if final.exists() and (not final.is_dir() or any(final.iterdir())):
            raise UsageError(
                f"{final} already exists", hint="remove it, or name another folder with --run-dir"
            )
        partial = final.with_name(final.name + PARTIAL_SUFFIX)
        if partial.exists():
            raise UsageError(
                f"an unfinished run is already at {partial}",
                hint=f"finish it with: assay run --resume {partial}, or remove it",
            )
        created = tuple(p for p in reversed(partial.parents) if not p.exists())
        partial.mkdir(parents=True)
        writer = cls(partial, final, created)
        try:
            write_json_atomic(partial / CONFIG, config)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return writer

    @classmethod
    def reopen(cls, partial: Path) -> RunWriter:
        """Continue an unfinished run (its folder as `find_unfinished` returned it)."""
        name = partial.name.removesuffix(PARTIAL_SUFFIX)
        if not partial.name.endswith(PARTIAL_SUFFIX):  # written before `.partial` existed: finish in place
            return cls(partial, partial)
        return cls(partial, partial.with_name(name))

    @property
    def run_id(self) -> str:
        return self.final.name

    @property
    def journal_path(self) -> Path:
        return self.partial / JOURNAL

    def file(self, name: str) -> Path:
        """A path inside the unfinished folder, for a command's own extra files (plots, judgments)."""
        return self.partial / name

    def write_samples(self, model: str, task: str, results: Sequence[SampleResult]) -> None:
        write_jsonl_atomic(samples_path(self.partial, model, task), [r.to_json() for r in results])

    def write_rows(self, name: str, rows: list[dict[str, Any]]) -> None:
        write_jsonl_atomic(self.partial / name, rows)

    def discard(self) -> None:
        """Remove the unfinished folder: for a run that failed before any work worth keeping."""
        if self.partial != self.final:
            shutil.rmtree(self.partial, ignore_errors=True)
        for folder in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty (another run): keep it
                folder.rmdir()

    def finish(
        self, record: RunRecord, *, leaderboard: Path | None = None, trackers: Sequence[Tracker] = ()
    ) -> Finished:
        """summary + metrics, atomic rename, leaderboard rows, trackers: each step kept if a later one fails."""
        write_json_atomic(self.partial / METRICS, record.metric_map())
        write_json_atomic(self.partial / SUMMARY, record.to_json())
        settle_modes(self.partial)  # the journal too: one mode for every file, as the umask allows
        if self.partial != self.final:
            if self.final.exists():
                self.final.rmdir()  # start() allowed only an empty folder here
            os.rename(self.partial, self.final)
        if leaderboard is not None:
            _append_leaderboard(record, leaderboard, self.final)
        warnings, logged = [], []
        for what, retry, call in trackers:
            try:
                where = call(self.final)
            except (AssayError, OSError) as exc:
                warnings.append(
                    f"{what} failed: {_one_line(exc)}; the run is saved in {self.final}; retry with: {retry}"
                )
            else:
                logged += [where] if where else []
        return Finished(self.final, tuple(warnings), tuple(logged))


def _append_leaderboard(record: RunRecord, leaderboard: Path, folder: Path) -> None:
    from assay.leaderboard.store import append_rows, rows_from_record

    try:
        append_rows(rows_from_record(record), leaderboard)
    except AssayError as exc:
        raise type(exc)(f"{exc.message} (the run itself is saved in {folder})", hint=exc.hint) from exc
    except OSError as exc:
        raise UsageError(
            f"cannot write the leaderboard {leaderboard}: {exc.strerror or exc} (the run is saved in {folder})",
            hint="fix the path or permissions of the leaderboard file (or pass --leaderboard PATH next time)",
        ) from exc


def _one_line(exc: Exception) -> str:
    text = exc.message if isinstance(exc, AssayError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
