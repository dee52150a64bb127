"""The CLI boundary's translation of exceptions: what the user controls exits 2, assay's own bugs exit 1."""

from __future__ import annotations

import errno
import io
import json
import sqlite3

import pytest

from assay.cli._boundary import DEBUG_HINT, explain, report
from assay.errors import ConfigError, Interrupted


@pytest.mark.parametrize(
    ("exc", "code", "fragment"),
    [
        (ConfigError("bad task", hint="fix it"), 2, "bad task"),
        (Interrupted("interrupted: run r kept", hint="assay run --resume r"), 130, "run r kept"),
        (KeyboardInterrupt(), 130, "interrupted"),
        (OSError(errno.ENOSPC, "No space left on device", "out/x"), 2, "no space left on the device: 'out/x'"),
        (PermissionError(errno.EACCES, "Permission denied", "lb.csv"), 2, "permission denied: 'lb.csv'"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "lb.csv"), 2, "is a folder"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), 2, "network: Connection refused"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, "not UTF-8"),
        (ModuleNotFoundError("No module named 'peft'", name="peft"), 2, "pip install peft"),
        (sqlite3.OperationalError("database or disk is full"), 2, "database or disk is full"),
        (MemoryError(), 2, "out of memory"),
        (ModuleNotFoundError("No module named 'assay.gone'", name="assay.gone"), 1, "internal error"),
        (sqlite3.OperationalError("no such table: responses"), 1, "internal error"),
        (json.JSONDecodeError("Expecting value", "{", 1), 1, "internal error: JSONDecodeError"),
        (ZeroDivisionError("division by zero"), 1, "internal error: ZeroDivisionError: division by zero"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else None,
)
def test_explain(exc: BaseException, code: int, fragment: str) -> None:
    failure = explain(exc)
    assert failure.exit_code == code and fragment in failure.message + (failure.hint or ""), failure
    assert (failure.hint == DEBUG_HINT) == (code == 1)


def test_report_prints_user_text_literally_on_one_line() -> None:
    out = io.StringIO()
    failure = explain(ConfigError("samples[red].jsonl: line [/b] is\nbroken", hint="pip install 'assay[llamacpp]'"))
    report(failure, out)
    assert out.getvalue() == (
        "error: samples[red].jsonl: line [/b] is / broken\nhint: pip install 'assay[llamacpp]'\n"
    )
