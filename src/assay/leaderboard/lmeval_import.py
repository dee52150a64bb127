"""Read lm-evaluation-harness results JSON (0.4.x, `results_<date>.json`) into leaderboard rows.

lm-eval keys metrics as "<metric>,<filter>" (e.g. "acc,none", "exact_match,strict-match") with the
standard error under "<metric>_stderr,<filter>" (a number or "N/A"). A filter of "none" is dropped from the
metric name; any other filter is kept as a suffix ("exact_match_strict-match") so two filters never collide.
Groups appear in `results` next to their subtasks and are imported too, with n summed over their subtasks
when not given.

The file is text assay does not control: a field of the wrong type, a number past a float's range or
Python's digit limit, NaN, nesting deeper than the recursion limit or a group that contains itself is a
one-line DataError naming the file (or a value left out: a stderr of "N/A", a date that is no timestamp).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assay.data.sources import read_text
from assay.errors import DataError
from assay.leaderboard.store import LeaderboardRow
from assay.records import stable_hash

NON_METRIC_KEYS = {"name", "alias", "sample_len", "sample_count", "samples"}


def _dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (lm-eval's optional sections may be null)."""
    return value if isinstance(value, dict) else {}


def _model_name(data: dict[str, Any]) -> str:
    config = _dict(data.get("config"))
    args = config.get("model_args")
    if isinstance(args, str):  # older files keep the raw "pretrained=...,dtype=..." string
        parts = dict(p.split("=", 1) for p in args.split(",") if "=" in p)
        args = parts
    if isinstance(args, dict):
        for key in ("pretrained", "model", "path"):
            if args.get(key) and isinstance(args[key], str | int | float):
                return str(args[key])
    return str(data.get("model_name") or config.get("model") or "unknown")


def _eval_date(data: dict[str, Any]) -> str:
    date = data.get("date")
    try:
        stamp = float(date) if date is not None else None
    except (OverflowError, TypeError, ValueError):
        stamp = None
    if stamp is None:
        return str(date or "")
    try:
        return datetime.fromtimestamp(stamp, UTC).isoformat()
    except (OverflowError, OSError, ValueError):  # NaN, inf or a year past 9999: keep what the file says
        return str(date)


def _dataset(config: dict[str, Any]) -> str:
    path = str(config.get("dataset_path") or "")
    split = config.get("test_split") or config.get("validation_split") or ""
    files = _dict(config.get("dataset_kwargs")).get("data_files")
    if (
        isinstance(files, dict) and isinstance(split, str) and split in files
    ):  # local json/csv tasks: the file says more than "json"
        return str(files[split])
    if not path:
        return ""
    return "/".join([path, str(config.get("dataset_name") or "default"), str(split)])


def _float(value: Any) -> float | None:
    """A finite number, or None (lm-eval writes "N/A" when it could not compute a stderr)."""
    if isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (OverflowError, TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _count(value: Any) -> int:
    """A sample count: a non-negative integer (a float such as 100.0 is accepted), else 0."""
    number = _float(value)
    return int(number) if number is not None and number >= 0 and number == int(number) else 0


def _task_n(task: str, entry: dict[str, Any], data: dict[str, Any], seen: frozenset[str] = frozenset()) -> int:
    if isinstance(entry.get("sample_len"), int) and not isinstance(entry["sample_len"], bool):
        return _count(entry["sample_len"])
    n_samples = _dict(data.get("n-samples"))
    if task in n_samples:
        counts = _dict(n_samples[task])
        return _count(counts.get("effective", counts.get("original", 0)))
    subtasks = _dict(data.get("group_subtasks")).get(task, [])
    if not isinstance(subtasks, list) or task in seen:  # a group that (indirectly) contains itself
        return 0
    results = _dict(data.get("results"))
    return sum(
        _task_n(str(sub), _dict(results.get(sub)), data, seen | {task}) for sub in subtasks if isinstance(sub, str)
    )


def _metrics(entry: dict[str, Any]) -> list[tuple[str, float, float | None]]:
    """(metric name, value, stderr) for every numeric "<metric>,<filter>" key of one task entry."""
    out = []
    for key, value in entry.items():
        if key in NON_METRIC_KEYS or "," not in key:
            continue
        metric, filt = key.split(",", 1)
        if metric.endswith("_stderr"):
            continue
        score = _float(value)
        if score is None:
            continue
        stderr = _float(entry.get(f"{metric}_stderr,{filt}"))
        name = metric if filt == "none" else f"{metric}_{filt}"
        out.append((name, score, stderr))
    return out


def _check_unicode(data: dict[str, Any], source: str) -> None:
    """JSON may escape an unpaired surrogate (\\udcff): not text that a row or a CSV file can hold."""
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DataError(f"{source or 'input'}: holds text that is not Unicode ({exc.reason})") from None
    except (ValueError, RecursionError):  # a number or a nesting that the rows below leave out anyway
        pass


def rows_from_lmeval(data: dict[str, Any], *, model: str | None = None, source: str = "") -> list[LeaderboardRow]:
    """Leaderboard rows (one per task x metric) from a parsed lm-eval results dict.

    `model` overrides the name taken from config.model_args; the run id is derived from the file's content
    so importing the same file twice gives the same run id (duplicates are visible, not silently merged).
    """
    _check_unicode(data, source)
    results = data.get("results")
    if not isinstance(results, dict) or not results:
        raise DataError(f"{source or 'input'}: no 'results' dict: not an lm-evaluation-harness results file")
    config = _dict(data.get("config"))
    configs = _dict(data.get("configs"))
    name = model or _model_name(data)
    run_id = "lm-eval-" + stable_hash({"date": data.get("date"), "results": results}, 12)
    date = _eval_date(data)
    version = str(config.get("model_revision") or "")
    fingerprint = str(config.get("model_sha") or "")
    rows = []
    for task, entry in results.items():
        if not isinstance(entry, dict):
            continue
        n = _task_n(task, entry, data)
        for metric, score, stderr in _metrics(entry):
            rows.append(
                LeaderboardRow(
                    model=name,
                    model_version=version,
                    model_fingerprint=fingerprint,
                    benchmark=task,
                    dataset=_dataset(_dict(configs.get(task))),
                    dataset_sha256="",
                    metric=metric,
                    score=score,
                    stderr=stderr,
                    n=n,
                    eval_date=date,
                    run_id=run_id,
                    git_sha=str(data.get("git_hash") or ""),
                )
            )
    if not rows:
        raise DataError(f"{source or 'input'}: the results hold no numeric metrics")
    return rows


def read_lmeval_file(path: Path, *, model: str | None = None) -> list[LeaderboardRow]:
    """Parse one lm-eval results JSON file into leaderboard rows (errors name the file)."""
    if not path.exists():
        raise DataError(f"no such file: {path}", hint="pass the results_<date>.json that lm-eval wrote")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    except (ValueError, RecursionError) as exc:  # an integer past Python's digit limit; nesting too deep
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).split(";")[0]
        raise DataError(f"{path}: unreadable JSON ({reason})") from None
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with a 'results' key")
    return rows_from_lmeval(data, model=model, source=str(path))
