"""Progress bars for long work (rich), one line per model x task; silent when disabled.

When stderr is not a terminal (a CI log, a file), bars cannot redraw: a plain line per unfinished task is
printed every ASSAY_PROGRESS_SECONDS (default 5) instead, so a long evaluation is never silent.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """`with RunProgress() as p: with p.task("model · task", total) as advance: advance(n)`."""

    def __init__(self, enabled: bool = True) -> None:
        self._progress = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            if enabled
            else None
        )

        self._ticker: _Ticker | None = None

    def __enter__(self) -> RunProgress:
        if self._progress:
            self._progress.start()
            if not self._progress.console.is_terminal:
                self._ticker = _Ticker(self._progress)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._ticker:
            self._ticker.stop()
        if self._progress:
            self._progress.stop()

    def log(self, text: str) -> None:
        """A line for the user (above the bars while they run; on stderr when they are off)."""
        if self._progress is None:
            print(text, file=sys.stderr)
        else:
            self._progress.console.print(text, markup=False, highlight=False)

    @contextmanager
    def task(self, label: str, total: int) -> Iterator[Callable[[int], None]]:
        if self._progress is None:
            yield lambda n: None
            return
        progress = self._progress
        task_id = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task_id, n)
        progress.update(task_id, completed=total)


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    value = int(value)
    return f"{value // 3600}:{value % 3600 // 60:02d}:{value % 60:02d}"


class _Ticker:
    """Prints each unfinished task's count every few seconds, from a daemon thread, for output that is not a
    terminal (rich's bars only redraw on one)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._interval = max(0.1, float(os.environ.get("ASSAY_PROGRESS_SECONDS", "5") or 5))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="assay-progress", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(self._interval):
            for task in self._progress.tasks:
                if task.finished or not task.total:
                    continue
                share = 100 * task.completed / task.total
                line = (f"progress: {task.description} {int(task.completed)}/{int(task.total)} ({share:.0f}%), "
                        f"{_seconds(task.elapsed)} elapsed, ~{_seconds(task.time_remaining)} left")  # fmt: skip
                print(line, file=sys.stderr, flush=True)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
