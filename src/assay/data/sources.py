"""Load a task's rows from a data folder (`<dataset id>/<config>/<split>.jsonl`), plain files, or the hub.

The data folder comes from --data-dir or ASSAY_DATA_DIR. A hub config of None is the folder `default`.
Malformed rows are reported with their file and line. Files are read once per process.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from assay.errors import DataError

Row = dict[str, Any]


def data_dir_from(option: str | None) -> Path | None:
    """--data-dir wins over ASSAY_DATA_DIR; None means: use the hub."""
    value = option or os.environ.get("ASSAY_DATA_DIR")
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise DataError(
            f"data folder {path} does not exist",
            hint="pass --data-dir with the folder of <id>/<config>/<split>.jsonl files",
        )
    return path


def local_split_path(data_dir: Path, dataset: str, config: str | None, split: str) -> Path:
    return data_dir / dataset / (config or "default") / f"{split}.jsonl"


def json_lines(text: str, source: str) -> Iterator[tuple[str, Row]]:
    """(where, row) for every non-blank line of JSONL text, `where` being "source:line". Every reader of
    JSONL in assay goes through here, so a bad line is always one DataError that names its file and line."""
    # only "\n" ends a JSONL line: str.splitlines() would also split at U+2028 and friends inside strings
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{where}: malformed JSON ({exc.msg} at column {exc.colno})", hint="fix or remove that line"
            ) from None
        except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; deep nesting
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
            raise DataError(f"{where}: unreadable JSON ({reason})", hint="fix or remove that line") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        yield where, row


def read_text(path: Path) -> str:
    """A UTF-8 file's text; anything else is a DataError naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


MAX_YAML_DEPTH = 200  # nesting levels; the data reaches pydantic, json and hashing, all recursive


def read_yaml(path: Path) -> Any:
    """A YAML file's content; what cannot be read (bad YAML, not UTF-8, an integer past Python's digit limit,
    nesting deeper than MAX_YAML_DEPTH) is a DataError naming the file, in one line.

    Parsed by libyaml when PyYAML has it: the pure-Python scanner is quadratic in the nesting depth (1.5 s to
    refuse 2,000 open brackets); libyaml stops at 1,000 levels at once, and deeper than MAX_YAML_DEPTH is
    refused after loading."""
    import yaml

    text = read_text(path)
    deep = f"{path}: not readable as YAML (nested too deeply)"
    hint = f"YAML files assay reads nest at most {MAX_YAML_DEPTH} levels (a structure may not contain itself)"
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        if "maximum nesting depth" in str(exc):
            raise DataError(deep, hint=hint) from None
        raise DataError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    except RecursionError:
        raise DataError(deep, hint=hint) from None
    except ValueError as exc:  # PyYAML turns digits into an int: past 4300 of them Python refuses
        raise DataError(f"{path}: not readable as YAML ({str(exc).split(';')[0]})") from None
    if _depth(data) > MAX_YAML_DEPTH:
        raise DataError(deep, hint=hint)
    return data


def _depth(data: Any) -> float:
    """How deeply lists and mappings nest in `data`, without recursion; infinite for a structure that contains
    itself (YAML anchors can make one). Shared parts are measured once."""
    memo: dict[int, int] = {}
    open_ids: set[int] = set()  # containers whose children are being measured
    stack: list[tuple[Any, bool]] = [(data, False)]
    while stack:
        node, measured = stack.pop()
        if not isinstance(node, dict | list) or (not measured and id(node) in memo):
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if measured:
            memo[id(node)] = 1 + max((memo.get(id(c), 0) for c in children), default=0)
            open_ids.discard(id(node))
        elif id(node) in open_ids:  # reached again from inside itself
            return float("inf")
        else:
            open_ids.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children)
    return memo.get(id(data), 0)


def read_jsonl(path: Path) -> list[Row]:
    """All rows of a JSONL file (see json_lines)."""
    return [row for _, row in json_lines(read_text(path), str(path))]


@lru_cache(maxsize=64)
def _read_jsonl(path: Path, stamp: tuple[int, int]) -> tuple[Row, ...]:
    return tuple(read_jsonl(path))


CSV_FIELD_LIMIT = 1 << 30  # characters in one field: a long prompt is data, not an attack (csv's default: 131072)


@lru_cache(maxsize=16)
def _read_csv(path: Path, stamp: tuple[int, int]) -> tuple[Row, ...]:
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    rows = []
    number = 1
    try:
        with io.StringIO(read_text(path), newline="") as fh:
            reader = csv.DictReader(fh)
            for number, row in enumerate(reader, start=2):
                if None in row or any(v is None for v in row.values()):
                    columns = len(reader.fieldnames or [])
                    raise DataError(f"{path}:{number}: the row does not have the header's {columns} columns")
                rows.append(dict(row))
    except csv.Error as exc:
        raise DataError(f"{path}: not readable as CSV near row {number + 1} ({exc})") from None
    return tuple(rows)


def read_file(path: Path) -> tuple[Row, ...]:
    """Rows of a .jsonl/.json-lines or .csv file (cached)."""
    if not path.exists():
        raise DataError(f"data file {path} does not exist")
    stat = path.stat()
    stamp = (stat.st_size, stat.st_mtime_ns)  # an edited file is read again
    if path.suffix.lower() == ".csv":
        return _read_csv(path.resolve(), stamp)
    return _read_jsonl(path.resolve(), stamp)


def hub_unreachable(timeout: float = 3.0) -> str | None:
    """Why the hub (HF_ENDPOINT, else huggingface.co) cannot be reached ("host: reason"), or None when it answers
    a TCP connection within `timeout` s or is to be used offline from its cache. Checked first so that a missing
    network fails in a second, not after half a minute of `datasets` retries printed line by line."""
    if os.environ.get("HF_HUB_OFFLINE") or os.environ.get("HF_DATASETS_OFFLINE"):
        return None
    import socket
    from urllib.parse import urlsplit

    endpoint = urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname or "", port), timeout=timeout).close()
    except OSError as exc:
        return f"{endpoint.netloc}: {exc}"
    return None


def _check_hub_reachable(dataset: str) -> None:
    why = hub_unreachable()
    if why:
        host, _, reason = why.partition(": ")
        raise DataError(
            f"no data folder given and the hub ({host}) cannot be reached to load {dataset}: {reason}",
            hint="pass --data-dir DIR (or set ASSAY_DATA_DIR) holding <id>/<config>/<split>.jsonl",
        )


def _from_hub(dataset: str, config: str | None, split: str) -> tuple[Row, ...]:
    _check_hub_reachable(dataset)  # first: without a reachable hub, installing `datasets` would not help
    try:
        import datasets  # type: ignore[import-untyped]
    except ImportError as exc:
        raise DataError(
            f"no local copy of {dataset} and the `datasets` package is not installed",
            hint="pass --data-dir DIR (or set ASSAY_DATA_DIR), or pip install 'assay[hub]'",
        ) from exc
    try:
        ds = datasets.load_dataset(dataset, config, split=split)
    except Exception as exc:  # offline, unknown id, ...: all mean the same to the user
        raise DataError(
            f"could not load {dataset}/{config or 'default'}/{split} from the hub: {type(exc).__name__}",
            hint="pass --data-dir DIR with a local copy laid out as <id>/<config>/<split>.jsonl",
        ) from exc
    return tuple(dict(r) for r in ds)


def load_split(
    dataset: str,
    config: str | None,
    split: str,
    data_dir: Path | None,
    data_files: str | None = None,
    base_dir: Path | None = None,
) -> tuple[tuple[Row, ...], str]:
    """(rows, source description) for one split. `data_files` (relative to base_dir) beats everything."""
    if data_files:
        path = Path(data_files)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        return read_file(path), str(path)
    if data_dir is not None:
        path = local_split_path(data_dir, dataset, config, split)
        if not path.exists():
            raise DataError(
                f"{path} not found (dataset {dataset}, config {config or 'default'}, split {split})",
                hint="the data folder must hold <id>/<config>/<split>.jsonl",
            )
        return read_file(path), f"{dataset}/{config or 'default'}/{split}"
    return _from_hub(dataset, config, split), f"hub:{dataset}/{config or 'default'}/{split}"


def split_exists(dataset: str, config: str | None, split: str, data_dir: Path | None) -> bool:
    if data_dir is None:
        return True  # the hub decides; callers catch DataError
    return local_split_path(data_dir, dataset, config, split).exists()


def filter_rows(rows: Sequence[Row], where: Mapping[str, Any]) -> list[Row]:
    return [r for r in rows if all(r.get(k) == v for k, v in where.items())] if where else list(rows)


def rows_sha256(rows: Sequence[Mapping[str, Any]]) -> str:
    """sha256 over the canonical JSON of the exact rows used, in order."""
    h = hashlib.sha256()
    for row in rows:
        h.update(json.dumps(row, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()
