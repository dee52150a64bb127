"""The CLI's one boundary: any exception a command raises becomes `error: <what>` (+ `hint: <how to fix>`).

    AssayError                      its own message, hint and exit code (2; Interrupted 130)
    KeyboardInterrupt               exit 130, one line
    OSError, UnicodeDecodeError,    the environment or a file the user controls: exit 2, the file named
    MemoryError, missing package
    anything else                   a bug in assay: exit 1, hint to rerun with --debug for the traceback

User text (file names, templates, messages) is printed literally: never read as rich markup.
"""

from __future__ import annotations

import errno
import json
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TextIO

from assay.errors import AssayError, kept_notes

DEBUG_HINT = "this is a bug in assay; rerun with --debug (or ASSAY_DEBUG=1) to see the traceback"


@dataclass(frozen=True)
class Failure:
    """What the user is told: one error line, an optional hint, and the exit code."""

    message: str
    hint: str | None
    exit_code: int


_ERRNO_HINTS = {
    errno.ENOSPC: ("no space left on the device", "free some space or write somewhere else (--output)"),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write somewhere else (--output)"),
    errno.EFBIG: ("file too large for this file system or limit", "write somewhere else (--output)"),
    errno.EACCES: ("permission denied", "check the permissions, or choose another path"),
    errno.EPERM: ("operation not permitted", "check the permissions, or choose another path"),
    errno.EROFS: ("read-only file system", "choose a writable path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
    errno.EISDIR: ("is a folder, not a file", "give a file path"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.EEXIST: ("already exists", "choose another path"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
    errno.EMFILE: ("too many open files", "raise the limit with `ulimit -n`"),
}


def _os_failure(exc: OSError) -> Failure:
    where = " ".join(repr(str(f)) for f in (exc.filename, exc.filename2) if f is not None)
    if not where and (path := _path_in_use(exc, must_exist=False)):  # write() errors carry no file name
        where = f"while writing {str(path)!r}" if exc.errno in _WRITE_ERRNOS else repr(str(path))
    if isinstance(exc, ConnectionError | TimeoutError):
        what = exc.strerror or str(exc) or type(exc).__name__
        return Failure(f"network: {what}", "check that the server is running and reachable", 2)
    known = _ERRNO_HINTS.get(exc.errno or -1)
    what = known[0] if known else (exc.strerror or str(exc) or type(exc).__name__)
    hint = known[1] if known else None
    return Failure(f"{what}: {where}" if where else what, hint, 2)


def _assay_frames(tb: TracebackType | None) -> list[dict[str, object]]:
    frames = []
    while tb is not None:
        if "assay" in tb.tb_frame.f_code.co_filename:
            frames.append(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return frames


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _path_in_use(exc: BaseException, *, must_exist: bool = True) -> str | None:
    """The innermost assay frame's `path`-like local (an existing file unless `must_exist` is False): the file
    an error without a file name was about."""
    for local in reversed(_assay_frames(exc.__traceback__)):
        for key in ("path", "file", "filename", "source", "samples", "problems", "target", "tmp"):
            value = local.get(key)
            if isinstance(value, str | Path) and (not must_exist or Path(value).is_file()):
                return str(value)
    return None


_SQLITE_ENVIRONMENT = (
    "disk is full", "disk i/o error", "unable to open", "readonly database", "locked", "malformed", "not a database",
)  # fmt: skip


def _is_sqlite_environment(exc: BaseException) -> bool:
    """sqlite reports a full disk, an unwritable or a damaged file as DatabaseError, not OSError."""
    import sqlite3

    text = str(exc).lower()
    return isinstance(exc, sqlite3.DatabaseError) and any(word in text for word in _SQLITE_ENVIRONMENT)


def explain(exc: BaseException) -> Failure:
    """Translate any exception into what the user is told, with what the failed command kept (its unfinished
    run and the command that continues it) added to the hint."""
    failure = _explain(exc)
    kept = "; ".join(kept_notes(exc))
    if not kept or isinstance(exc, AssayError):  # an AssayError's own hint already says it
        return failure
    return Failure(failure.message, f"{failure.hint}; {kept}" if failure.hint else kept, failure.exit_code)


def _explain(exc: BaseException) -> Failure:
    if isinstance(exc, AssayError):
        return Failure(exc.message, exc.hint, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return Failure("interrupted", None, 130)
    if isinstance(exc, UnicodeDecodeError):
        name = _path_in_use(exc)
        where = f"{name} is" if name else "a file is"
        what = f"{where} not UTF-8 text (byte {exc.object[exc.start : exc.start + 1]!r} at offset {exc.start})"
        return Failure(what, "save the file as UTF-8", 2)
    if isinstance(exc, OSError):
        return _os_failure(exc)
    if isinstance(exc, json.JSONDecodeError) and (name := _path_in_use(exc)):
        return Failure(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "the file is damaged (torn by a crash?) or not JSON: restore it, or remove it",
            2,
        )
    if _is_sqlite_environment(exc):
        db = _path_in_use(exc, must_exist=False)
        return Failure(
            f"database {db}: {exc}" if db else f"database: {exc}",
            "free some space, or check the database file and its folder (a damaged journal or cache can be deleted)",
            2,
        )
    if isinstance(exc, MemoryError):
        return Failure("out of memory", "use a smaller model, batch size or --limit", 2)
    if isinstance(exc, ModuleNotFoundError) and exc.name and not exc.name.startswith("assay"):
        package = exc.name.split(".")[0]
        return Failure(f"the Python package {package!r} is not installed", f"pip install {package}", 2)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return Failure(f"internal error: {type(exc).__name__}" + (f": {text}" if text else ""), DEBUG_HINT, 1)


def report(failure: Failure, stream: TextIO | None = None) -> None:
    """Print the failure literally: `error: ...` and `hint: ...`, one line each, no markup, no wrapping."""
    out = stream or sys.stderr
    red, yellow, reset = ("\x1b[1;31m", "\x1b[33m", "\x1b[0m") if _colour(out) else ("", "", "")
    out.write(f"{red}error:{reset} {_one_line(failure.message)}\n")
    if failure.hint:
        out.write(f"{yellow}hint:{reset} {_one_line(failure.hint)}\n")
    out.flush()


def show_traceback(exc: BaseException, stream: TextIO | None = None) -> None:
    """--debug: the full traceback, before the error line."""
    traceback.print_exception(type(exc), exc, exc.__traceback__, file=stream or sys.stderr)


def _one_line(text: str) -> str:
    """Several lines of a message are joined, so that a message is exactly one line."""
    return " / ".join(part.strip() for part in text.splitlines() if part.strip()) or "(no message)"


def _colour(stream: TextIO) -> bool:
    import os

    if "NO_COLOR" in os.environ:
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
