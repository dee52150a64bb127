"""Group commit: the writes that arrive together share one SQLite transaction, so one fsync acknowledges many.

With synchronous=FULL each COMMIT waits for the disk (about 2-3 ms here). Committed one at a time, writes
queue behind each other's fsync: at 100 annotators a POST waited behind dozens of others and the server
topped out at ~250 ratings/s with the CPU mostly idle. Here a writer queues its work; if no commit is under
way it becomes the leader: it takes *everything* queued, runs each piece in its own savepoint (one failing
piece rolls back alone and gets its own error), commits once, marks the batch done and wakes the waiters.
Work queued meanwhile waits for that commit to end, then the next leader takes it all. Nothing is
acknowledged before the COMMIT that contains it returns, so durability is unchanged, and batches grow with
the load.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


class _Ticket(Generic[T]):
    """One writer's work and, once its batch is committed, its result or error."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Work[T]) -> None:
        self.work = work
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """Serializes the writes to one database while batching the concurrent ones into shared transactions."""

    def __init__(self) -> None:
        self._changed = threading.Condition()  # guards _queue and _leading (never held across I/O)
        self._queue: list[_Ticket[object]] = []
        self._leading = False  # a batch is being committed
        self.commits = 0  # transactions committed (or attempted), for tests and benchmarks

    @property
    def queued(self) -> int:
        """Writes waiting for the next batch."""
        with self._changed:
            return len(self._queue)

    def run(self, conn: sqlite3.Connection, work: Work[T]) -> T:
        """Run `work(conn)` inside a committed transaction (maybe with others' work); return its result.

        `conn` is the calling thread's connection in autocommit mode; it is used only if this thread leads.
        """
        ticket: _Ticket[T] = _Ticket(work)
        batch: list[_Ticket[object]] = []
        with self._changed:
            self._queue.append(ticket)  # type: ignore[arg-type]
            while not ticket.done and not batch:
                if self._leading:
                    self._changed.wait()
                else:
                    self._leading, batch, self._queue = True, self._queue, []
        if batch:
            try:
                _commit(conn, batch)
            finally:
                with self._changed:
                    for piece in batch:
                        piece.done = True
                    self._leading = False
                    self.commits += 1
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error
        return ticket.result  # type: ignore[return-value]


def _commit(conn: sqlite3.Connection, batch: list[_Ticket[object]]) -> None:
    """Run the batch in one transaction; a piece that raises is rolled back to its savepoint alone."""
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            for ticket in batch:
                conn.execute("SAVEPOINT piece")
                try:
                    ticket.result = ticket.work(conn)
                except Exception as exc:  # noqa: BLE001 - handed to the writer it belongs to
                    conn.execute("ROLLBACK TO piece")
                    ticket.error = exc
                conn.execute("RELEASE piece")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    except Exception as exc:  # nothing of the batch is stored: every writer in it gets the failure
        for ticket in batch:
            ticket.error = ticket.error or exc
            ticket.result = None
