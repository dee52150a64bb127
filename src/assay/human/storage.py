"""Ratings in SQLite, each committed before the annotator's next page is served.

The database holds everything an export needs: the mode, the items (so the items file may move), the
annotators, their invitations (hashes only) and their ratings. Each server thread keeps one connection of its
own (SQLite connections must not cross threads), opened once, in autocommit mode: a read is one statement and
never waits for a writer (WAL mode); writes go through a group commit (`assay.human.commits`): the writes that
arrive together share one short `BEGIN IMMEDIATE ... COMMIT` (no read-then-upgrade deadlock), so one fsync.
synchronous=FULL makes every committed rating survive a crash of the process or of the machine (a commit waits
~2-3 ms for the disk here, which is why writes are grouped); a rating is acknowledged only after its commit.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from assay.errors import DataError, UsageError
from assay.human.access import new_token, token_hash
from assay.human.blinding import annotator_order, is_swapped
from assay.human.commits import GroupCommit, T, Work
from assay.human.items import Item, Mode, check_mode

SCHEMA_VERSION = "1"  # the invites table was added without a new version: CREATE IF NOT EXISTS adds it
BUSY_TIMEOUT_S = 10.0
MAX_CACHED_ORDERS = 4096
CHOICES = ("A", "B", "tie")  # as displayed: A is the left response, B the right one
MAX_COMMENT = 5000

INVITES_TABLE = """CREATE TABLE IF NOT EXISTS invites (
    name TEXT PRIMARY KEY REFERENCES annotators(name),
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL)"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS annotators (name TEXT PRIMARY KEY, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ratings (
    annotator TEXT NOT NULL REFERENCES annotators(name),
    item_id TEXT NOT NULL REFERENCES items(item_id),
    score INTEGER CHECK (score BETWEEN 1 AND 10),
    choice TEXT CHECK (choice IN ('A', 'B', 'tie')),
    swapped INTEGER CHECK (swapped IN (0, 1)),
    winner TEXT CHECK (winner IN ('a', 'b', 'tie')),
    comment TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (annotator, item_id));
{INVITES_TABLE};
"""


def now() -> str:
    """The current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    """One annotator's judgment of one item. Single mode sets `score`; pairwise sets the other four.

    `choice` is what the annotator clicked ("A" = left, "B" = right, "tie"); `swapped` says whether the left
    side showed response_b; `winner` is the choice resolved to the item's own sides ("a", "b" or "tie").
    """

    annotator: str
    item_id: str
    score: int | None = None
    choice: str | None = None
    swapped: bool | None = None
    winner: str | None = None
    comment: str = ""
    created_at: str = ""
    updated_at: str = ""


def resolve_choice(choice: str, swapped: bool) -> str:
    """Map a displayed choice (A = left) to the item's own side: "a", "b" or "tie"."""
    if choice == "tie":
        return "tie"
    left, right = ("b", "a") if swapped else ("a", "b")
    return left if choice == "A" else right


class Store:
    """A ratings database of one mode. Create it with `Store.create` (serve) or `Store.open` (export)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._writes = GroupCommit()
        self._conns: list[sqlite3.Connection] = []
        self._orders: dict[str, tuple[str, ...]] = {}  # annotator -> item order: a shuffle per request adds up
        with self.connect() as conn:
            meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
            rows = conn.execute("SELECT payload FROM items ORDER BY seq").fetchall()
        self.mode: Mode = check_mode(meta["mode"])
        self.secret_key: str = meta["secret_key"]
        # items never change while a server runs, so they are read once
        self.items: dict[str, Item] = {}
        for (payload,) in rows:
            item = Item(**json.loads(payload))
            self.items[item.item_id] = item

    # ------------------------------------------------------------------------------------------ opening

    @classmethod
    def create(cls, path: Path, mode: Mode, items: Sequence[Item], source: str = "") -> Store:
        """Open `path` (creating it if needed) and add `items`; all or nothing, in one transaction.

        An existing database must have the same mode, and an item id it already holds must have the same
        content: silently changing what earlier ratings refer to would corrupt them.
        """
        if path.exists() and not path.is_file():
            raise UsageError(f"--db {path} is not a file")
        if not path.parent.is_dir():
            raise UsageError(
                f"folder {path.parent} does not exist", hint="create it first or pick another --db"
            )
        conn = _connect(path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in filter(str.strip, SCHEMA.split(";")):
                    conn.execute(statement)
                _init_meta(conn, path, mode)
                _add_items(conn, path, mode, items, source)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open an existing ratings database for reading (export, agreement)."""
        if not path.is_file():
            raise UsageError(
                f"ratings database {path} does not exist",
                hint="start one with: assay human serve ITEMS.jsonl --db FILE",
            )
        try:
            with closing_conn(path) as conn:
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{path} is not a SQLite database ({exc})") from None
        if not {"meta", "items", "ratings"} <= tables:
            raise DataError(f"{path} is not an assay ratings database", hint="pass the --db used with serve")
        return cls(path)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, in autocommit mode (each statement is its own transaction)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = _connect(self.path)
            with self._lock:
                self._conns.append(conn)
        yield conn

    def write(self, work: Work[T]) -> T:
        """Run `work(conn)` in a committed write transaction (maybe shared with concurrent writes); its result.

        The process's writers never wait on SQLite's busy handler (it sleeps in steps of up to 100 ms and let
        a write wait seconds under load): one of them commits everything queued in one transaction while the
        others wait for that commit. Reads take no lock. The busy timeout still covers other processes.
        """
        with self.connect() as conn:
            return self._writes.run(conn, work)

    def close(self) -> None:
        """Close every thread's connection (the store must not be used afterwards)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            conn.close()

    # --------------------------------------------------------------------------------------- annotators

    def add_annotator(self, name: str) -> None:
        """Record that `name` logged in (idempotent)."""
        stamp = now()
        self.write(lambda conn: conn.execute("INSERT OR IGNORE INTO annotators VALUES (?, ?)", (name, stamp)))

    def invite(self, name: str) -> str:
        """A new invitation token for `name` (returned once, only its hash is kept); it replaces any earlier one."""
        token, stamp = new_token(), now()

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(INVITES_TABLE)  # a database made before invitations existed gets the table here
            conn.execute("INSERT OR IGNORE INTO annotators VALUES (?, ?)", (name, stamp))
            conn.execute(
                "INSERT INTO invites VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
                " SET token_hash = excluded.token_hash, created_at = excluded.created_at",
                (name, token_hash(token), stamp),
            )

        self.write(work)
        return token

    def invited(self, token: str) -> str | None:
        """The annotator whose current invitation is `token`, or None."""
        with self.connect() as conn:
            row = conn.execute("SELECT name FROM invites WHERE token_hash = ?", (token_hash(token),)).fetchone()
        return None if row is None else str(row[0])

    def invite_is_current(self, name: str, hashed: str) -> bool:
        """True if `hashed` is the hash of `name`'s current invitation (a newer invite revokes older links)."""
        with self.connect() as conn:
            row = conn.execute("SELECT 1 FROM invites WHERE name = ? AND token_hash = ?", (name, hashed)).fetchone()
        return row is not None

    def n_invites(self) -> int:
        """How many annotators hold an invitation."""
        with self.connect() as conn:
            return int(conn.execute("SELECT count(*) FROM invites").fetchone()[0])

    def order(self, annotator: str) -> list[str]:
        """Item ids in the order `annotator` sees them."""
        return list(self._order(annotator))

    def _order(self, annotator: str) -> tuple[str, ...]:
        # computed once per annotator (items never change) and never copied: a request reads only its start
        order = self._orders.get(annotator)
        if order is None:
            order = tuple(annotator_order(annotator, list(self.items)))
            with self._lock:
                if len(self._orders) >= MAX_CACHED_ORDERS:
                    self._orders.clear()
                self._orders[annotator] = order
        return order

    def rated_ids(self, annotator: str) -> set[str]:
        """Ids of the items `annotator` has already rated."""
        with self.connect() as conn:
            rows = conn.execute("SELECT item_id FROM ratings WHERE annotator = ?", (annotator,)).fetchall()
        return {r[0] for r in rows}

    def next_item(self, annotator: str) -> tuple[Item | None, int]:
        """The first item in `annotator`'s order not yet rated (None when done), and how many are rated."""
        done = self.rated_ids(annotator) & self.items.keys()
        for item_id in self._order(annotator):
            if item_id not in done:
                return self.items[item_id], len(done)
        return None, len(done)

    # ------------------------------------------------------------------------------------------ ratings

    def save_rating(
        self,
        annotator: str,
        item_id: str,
        *,
        score: int | None = None,
        choice: str | None = None,
        comment: str = "",
    ) -> Rating:
        """Validate and commit one rating; a second rating of the same item replaces the first."""
        if item_id not in self.items:
            raise UsageError(f"unknown item {item_id!r}")
        comment = comment.strip()[:MAX_COMMENT]
        swapped: bool | None = None
        winner: str | None = None
        if self.mode == "single":
            if score is None or not 1 <= score <= 10 or choice is not None:
                raise UsageError("a single-mode rating needs a score from 1 to 10")
        else:
            if choice not in CHOICES or score is not None:
                raise UsageError("a pairwise rating needs a choice of A, B or tie")
            # derived on the server, never taken from the form, so a client cannot mislabel the sides
            swapped = is_swapped(annotator, item_id)
            winner = resolve_choice(choice, swapped)
        stamp = now()

        def work(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT OR IGNORE INTO annotators VALUES (?, ?)", (annotator, stamp))
            cursor = conn.execute(
                "INSERT INTO ratings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (annotator, item_id) DO UPDATE SET score = excluded.score,"
                " choice = excluded.choice, swapped = excluded.swapped,"
                " winner = excluded.winner, comment = excluded.comment, updated_at = excluded.updated_at"
                " RETURNING created_at",
                (annotator, item_id, score, choice, None if swapped is None else int(swapped), winner, comment)
                + (stamp, stamp),
            )
            return str(cursor.fetchone()[0])

        created_at = self.write(work)
        return Rating(
            annotator=annotator,
            item_id=item_id,
            score=score,
            choice=choice,
            swapped=swapped,
            winner=winner,
            comment=comment,
            created_at=created_at,
            updated_at=stamp,
        )

    def ratings(self) -> list[Rating]:
        """Every rating, ordered by item (in file order) then annotator."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT r.annotator, r.item_id, r.score, r.choice, r.swapped, r.winner, r.comment,"
                " r.created_at, r.updated_at FROM ratings r JOIN items i USING (item_id)"
                " ORDER BY i.seq, r.annotator"
            ).fetchall()
        return [
            Rating(
                annotator=a,
                item_id=i,
                score=s,
                choice=c,
                swapped=None if w is None else bool(w),
                winner=win,
                comment=com,
                created_at=cr,
                updated_at=up,
            )
            for a, i, s, c, w, win, com, cr, up in rows
        ]


# ------------------------------------------------------------------------------------------------ helpers


def _connect(path: Path) -> sqlite3.Connection:
    try:
        # autocommit (isolation_level=None): transactions are explicit, see Store.write; a connection is used
        # by the one thread that opened it, but Store.close may close it from another
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    except sqlite3.DatabaseError as exc:
        raise DataError(f"cannot use {path} as a ratings database ({exc})") from None
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextmanager
def closing_conn(path: Path) -> Iterator[sqlite3.Connection]:
    """A configured connection to `path` that is closed on exit (sqlite3's own `with` only commits)."""
    conn = _connect(path)
    try:
        yield conn
    finally:
        conn.close()


def _init_meta(conn: sqlite3.Connection, path: Path, mode: Mode) -> None:
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    if not meta:
        # the session-signing key lives in the database so logins survive a server restart
        values = {
            "schema_version": SCHEMA_VERSION,
            "mode": mode,
            "secret_key": secrets.token_hex(32),
            "created_at": now(),
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", values.items())
        return
    if meta.get("mode") != mode:
        raise UsageError(
            f"{path} holds {meta.get('mode')} ratings, not {mode}",
            hint=f"use --mode {meta.get('mode')} or a new --db",
        )
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise DataError(f"{path} has schema version {meta.get('schema_version')}, expected {SCHEMA_VERSION}")


def _add_items(conn: sqlite3.Connection, path: Path, mode: Mode, items: Sequence[Item], source: str) -> None:
    stored = dict(conn.execute("SELECT item_id, payload FROM items").fetchall())
    seq = len(stored)
    for item in items:
        payload = json.dumps(item.to_json(mode), sort_keys=True, ensure_ascii=False)
        old = stored.get(item.item_id)
        if old is None:
            conn.execute("INSERT INTO items VALUES (?, ?, ?)", (item.item_id, seq, payload))
            seq += 1
        elif old != payload:
            raise DataError(
                f"{source or 'items'}: item {item.item_id!r} differs from the one already stored in {path}",
                hint="give changed items a new item_id, or use a new --db",
            )
