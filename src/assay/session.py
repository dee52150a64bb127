"""One way to run an evaluation: the RunWriter, the models it opens, the response journal, and the RunRecord.

`assay run` (assay.runner), `assay judge mtbench` (assay.judge.mtbench_run) and `assay score` compose the same
steps through a RunSession:

    session = RunSession.start(RunStart(command="run", config=config_json, output=Path("runs"), ...))
    with session.guard():                           # Ctrl-C / SIGTERM / a failure: work kept, resume printed
        model, info = session.open_model(spec)      # journal (+ user cache) around the backend, loaded once
        ...                                         # answer, score, session.writer.write_samples(...)
    record, folder = session.finish(models=[info], results=[...], stats={...})

Every response a model gives is committed to the run's journal (runs/<id>.partial/responses.sqlite) as its
unit of work finishes; a session reopened on that folder (`--resume`) answers those from the journal and
computes only the rest. A session that journaled nothing is discarded when it fails: nothing half-written.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.config import ModelSpec
from assay.errors import AssayError, Interrupted, UsageError, note_kept
from assay.execution.base import Executor
from assay.models.aliases import cache_root
from assay.models.backends import load_model, model_info, resolve_spec
from assay.models.base import Model
from assay.models.cache import CachedModel, ResponseStore
from assay.records import ModelInfo, RunRecord, TaskResult
from assay.runs import environment
from assay.runs.writer import RunWriter, Tracker

Warn = Callable[[str], None]
CACHE_FILE = "responses.sqlite"  # the user cache under ASSAY_CACHE, shared by every command
# the request counts a session sums over every model it opened (answers and judgments alike)
REQUEST_STATS = ("requests_total", "requests_cached", "requests_computed", "units_total", "units_computed")


def stderr_warning(text: str) -> None:
    print(f"warning: {text}", file=sys.stderr)


@dataclass(frozen=True, kw_only=True)
class RunStart:
    """Where a session writes and how it is resumed; `config` is the command's config.json."""

    command: str  # run | judge-mtbench | score: the RunRecord's `command`
    config: dict[str, Any]
    output: Path
    run_dir: Path | None = None  # the exact folder (--run-dir), else output/<run id>
    resume_dir: Path | None = None  # an unfinished run's .partial folder to continue
    resume: str = "assay run --resume"  # the command that continues it (followed by the folder)
    use_cache: bool = True  # also read and write the user's response cache
    leaderboard: Path | None = None
    tracking: tuple[str | None, str | None] | None = None  # (tracking URI, experiment) with --track
    chunk_size: int = field(default_factory=lambda: int(os.environ.get("ASSAY_CHUNK_SIZE", "128")))


class RunSession:
    """Owns one run folder from start (or resume) to finish; see the module docstring."""

    def __init__(self, start: RunStart, writer: RunWriter) -> None:
        self.start_info = start
        self.writer = writer
        self.started = time.time()
        self.models: dict[str, tuple[CachedModel, ModelInfo]] = {}
        self._stores: list[ResponseStore] | None = None  # opened with the first model: [journal, cache?]

    @classmethod
    def start(cls, start: RunStart) -> RunSession:
        """A new unfinished run folder with its config written, or the reopened one of `resume_dir`."""
        if start.resume_dir is not None:
            return cls(start, RunWriter.reopen(start.resume_dir))
        return cls(start, RunWriter.start(start.output, start.config, run_dir=start.run_dir))

    @property
    def run_id(self) -> str:
        return self.writer.run_id

    @property
    def resume_command(self) -> str:
        return f"{self.start_info.resume} {self.writer.partial}"

    def _journal_and_cache(self) -> list[ResponseStore]:
        if self._stores is None:
            self._stores = [ResponseStore(self.writer.journal_path)]
            if self.start_info.use_cache:
                self._stores.append(ResponseStore(cache_root() / CACHE_FILE))
        return self._stores

    def open_model(
        self,
        spec: ModelSpec,
        *,
        defaults: Mapping[str, Any] | None = None,
        inner: Model | None = None,
        make: Callable[[ModelSpec], Model | Executor] | None = None,
    ) -> tuple[CachedModel, ModelInfo]:
        """The model of `spec` behind the run's journal (and the user cache): loaded once per distinct spec.

        `defaults` are backend args the spec does not set (hf: batch size, device); `inner` is a model to use
        instead of loading one (a test's, or a caller's); `make` makes what answers from the resolved spec
        instead of loading it here (a Ray executor, whose workers load the model)."""
        key = spec.model_dump_json()
        if key not in self.models:
            backend, args, name = resolve_spec(spec)
            for arg, value in (defaults or {}).items():
                args.setdefault(arg, value)
            resolved = ModelSpec(name=name, model=backend, args=args)
            backend_model = inner if inner is not None else (make or load_model)(resolved)
            stores = self._journal_and_cache()  # every answer journaled as its unit finishes
            model = CachedModel(backend_model, readers=stores, writers=stores, chunk_size=self.start_info.chunk_size)
            self.models[key] = (model, model_info(backend, args, model.executor.loaded, name))
        return self.models[key]

    def totals(self) -> dict[str, int]:
        """Requests and units over every model the session opened (a judge's included)."""
        return {n: sum(int(m.stats.get(n, 0)) for m, _ in self.models.values()) for n in REQUEST_STATS}

    def close(self) -> None:
        for model, _ in self.models.values():
            model.close()  # the executor and the stores (closing a shared store twice is harmless)
        for store in self._stores or []:
            store.close()

    @contextmanager
    def guard(self) -> Iterator[RunSession]:
        """Ctrl-C or SIGTERM: Interrupted naming the resume command; an AssayError: its hint gains the resume
        command; any other failure: a note saying what was kept. With nothing journaled the folder is
        discarded (a new run's) instead. The models are closed in every case."""
        try:
            with _sigterm_as_interrupt():
                yield self
        except KeyboardInterrupt:
            self.close()
            raise self._interrupted() from None
        except AssayError as exc:
            self.close()
            if self.has_responses():
                resume = f"finished work is kept; continue with: {self.resume_command}"
                raise type(exc)(exc.message, hint=f"{exc.hint}; {resume}" if exc.hint else resume) from exc
            self._discard()
            raise
        except BaseException as exc:  # a bug in assay or the environment: the work done is kept all the same
            self.close()
            if self.has_responses():
                note_kept(exc, f"run {self.run_id} keeps every finished result in {self.writer.partial}; "
                               f"continue with: {self.resume_command}")  # fmt: skip
            else:
                self._discard()
            raise
        self.close()

    def _discard(self) -> None:
        if self.start_info.resume_dir is None:  # a resumed folder holds the user's earlier work: never removed
            self.writer.discard()

    def _interrupted(self) -> Interrupted:
        if not self.has_responses():
            self._discard()
            return Interrupted("interrupted before any result was computed; nothing was kept")
        return Interrupted(
            f"interrupted: run {self.run_id} keeps every finished result in {self.writer.partial}",
            hint=f"continue with: {self.resume_command}",
            kept=str(self.writer.partial),
        )

    def has_responses(self) -> bool:
        """Whether the journal holds any finished work (worth keeping for --resume)."""
        return has_responses(self.writer.journal_path)

    def finish(
        self,
        *,
        models: Sequence[ModelInfo],
        results: Sequence[TaskResult],
        stats: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        wall_seconds: float | None = None,
        warn: Warn = stderr_warning,
    ) -> tuple[RunRecord, Path]:
        """Build the RunRecord; the writer writes summary and metrics, renames the folder, appends the leaderboard
        rows and logs to tracking, in that order. `config` defaults to the session's config.json."""
        record = RunRecord(
            run_id=self.run_id,
            created=datetime.now(UTC).isoformat(timespec="seconds"),
            config=dict(config if config is not None else self.start_info.config),
            models=tuple(models),
            results=tuple(results),
            environment=environment.capture(),
            git_sha=environment.git_sha(),
            wall_seconds=round(wall_seconds if wall_seconds is not None else time.time() - self.started, 2),
            stats=dict(stats or {}),
            command=self.start_info.command,
        )
        done = self.writer.finish(record, leaderboard=self.start_info.leaderboard, trackers=self._trackers())
        for text in done.logged:  # --track: where the run went (experiment, run, URI)
            print(text, file=sys.stderr, flush=True)
        for text in done.warnings:
            warn(text)
        return record, done.path

    def _trackers(self) -> list[Tracker]:
        if self.start_info.tracking is None:
            return []
        from assay.tracking.mlflow_log import mlflow_tracker

        uri, experiment = self.start_info.tracking
        return [mlflow_tracker(self.writer.final, uri, experiment)]


def unfinished_run(run: str, output: Path) -> Path:
    """The `.partial` folder of the run to resume, for `--resume` (a finished or unknown run: one-line error)."""
    from assay.runs.folder import find_unfinished, resolve_run

    found = find_unfinished(run, output)
    if found is not None:
        return found
    try:
        finished = resolve_run(run, output)
    except UsageError:
        raise UsageError(
            f"no unfinished run {run!r} under {output}", hint="give the run id or folder that was printed"
        ) from None
    raise UsageError(f"run {finished} already finished", hint="start a new run instead of --resume")


def has_responses(journal: Path) -> bool:
    """Whether a run journal exists and holds at least one response."""
    if not journal.exists():
        return False
    try:
        store = ResponseStore(journal)
    except sqlite3.Error:  # a journal that could not even be written (a full disk) holds nothing
        return False
    try:
        return store.count() > 0
    except sqlite3.Error:
        return False
    finally:
        store.close()


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler stopping the job) ends the run the way Ctrl-C does: work kept, resume printed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
