"""The layout of a run folder, shared by every command that reads or writes runs.

    runs/<run_id>.partial/     an unfinished run: config.json, responses.sqlite, samples written so far
    runs/<run_id>/
        config.json            the resolved configuration (enough to resume or audit the run)
        summary.json           RunRecord: every metric with stderr and n, config, seeds, versions, hashes
        metrics.json           flat {"<model>/<task>/<metric>": value}, what CI and DVC read
        samples/<model>_<task>.jsonl   one SampleResult per line
        responses.sqlite       the run's own response journal (resume works even with --no-cache)

`run_id` is `YYYYMMDD-HHMMSS-<6 hex>` (UTC): sortable by time and unique.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path("runs")
PARTIAL_SUFFIX = ".partial"  # runs/<run_id>.partial/ until the writer renames it into place
RUN_ID_RE = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def new_run_id(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def safe_name(name: str) -> str:
    """A model or task name as a file-name part (`/`, `:` and spaces become `_`)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", name).strip("_") or "model"


def samples_path(run_dir: Path, model: str, task: str) -> Path:
    return run_dir / "samples" / f"{safe_name(model)}_{safe_name(task)}.jsonl"


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON via a temp file and rename, so a reader never sees half a file."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n"
    _write_atomic(path, lambda fh: fh.write(text))


def write_jsonl_atomic(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write JSON lines via a temp file and rename."""
    _write_atomic(path, lambda fh: fh.writelines(json.dumps(r, ensure_ascii=False, default=str) + "\n" for r in rows))


def _write_atomic(path: Path, write: Any) -> None:
    """On any failure (a full disk included) the temp file is removed and the target left untouched.

    The temp file is created as `open()` creates a file (0666 less the umask), not 0600 as `mkstemp` would:
    a team sharing a runs folder reads each other's files as their umask allows.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        # a lone surrogate (a model's or a file's "\udcff" escape read back) is written as that same JSON escape
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_mode() -> int:
    """The mode a new file gets under the current umask (0666 less the umask): every file of a run has it."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no /proc (macOS): read the umask by setting it, and put it back at once
    os.umask(mask)
    return 0o666 & ~mask


def settle_modes(folder: Path) -> None:
    """Give every file under `folder` the umask's file mode (sqlite creates its database 0644 whatever the
    umask allows, a JSON file gets 0666 less the umask): one mode for every file of a run."""
    mode = file_mode()
    for file in folder.rglob("*"):
        if file.is_file() and not file.is_symlink() and (file.stat().st_mode & 0o777) != mode:
            with contextlib.suppress(PermissionError):  # another user's file in a shared folder: theirs to set
                os.chmod(file, mode)
