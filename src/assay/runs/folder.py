"""Reading run folders back: the only place outside the writer that opens summary.json or samples files.

    folder = open_run("20261123-155947-eba2b7")        # a finished run, by id, short id ("eba2b7") or path
    folder.record.results[0].metrics["acc"].value      # typed RunRecord
    folder.samples("smollm2-135m", "arc_easy")         # typed SampleResults
    list_runs(Path("runs"))                            # finished runs only: `<id>.partial/` folders are skipped

A folder's summary.json carries the run-folder `schema_version`; an unknown newer one is refused with a
one-line error naming the file, a torn or invalid file likewise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from assay.errors import ConfigError, DataError, UsageError
from assay.records import RecordError, RunRecord, SampleResult
from assay.runs.layout import DEFAULT_OUTPUT, PARTIAL_SUFFIX, RUN_ID_RE, samples_path

SUMMARY = "summary.json"
CONFIG = "config.json"
METRICS = "metrics.json"


@dataclass(frozen=True)
class RunFolder:
    """A finished run folder and its record."""

    path: Path
    record: RunRecord

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def samples(self, model: str, task: str) -> list[SampleResult]:
        path = samples_path(self.path, model, task)
        if not path.exists():
            raise UsageError(f"run {self.path} has no samples for model {model!r} on task {task!r}")
        return read_samples(path)

    def has_samples(self, model: str, task: str) -> bool:
        return samples_path(self.path, model, task).exists()

    def samples_file(self, model: str, task: str) -> Path:
        """Where the samples of one model on one task are (to copy them, e.g. as tracking artifacts)."""
        return samples_path(self.path, model, task)

    def file(self, name: str) -> Path:
        """Another file the command that wrote the folder put there (judgments.jsonl, results.jsonl, ...)."""
        return self.path / name


def read_json_file(path: Path) -> Any:
    """JSON from a file, or a one-line DataError naming the file (missing, unreadable, torn, not UTF-8)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})",
            hint="the file is damaged; rerun the command that wrote it",
        ) from None


def read_record(path: Path) -> RunRecord:
    """A RunRecord from a summary.json file."""
    try:
        return RunRecord.from_json(read_json_file(path))
    except RecordError as exc:
        raise DataError(f"{path}: not a run record this assay can read: {exc}", hint=_upgrade_hint(exc)) from None


def _upgrade_hint(exc: RecordError) -> str | None:
    return "upgrade assay to read it" if "newer than" in str(exc) else None


def read_samples(path: Path) -> list[SampleResult]:
    """Every SampleResult of a samples/<model>_<task>.jsonl file (file and line named on a bad row)."""
    rows = []
    try:
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(SampleResult.from_json(json.loads(line)))
                except (json.JSONDecodeError, RecordError) as exc:
                    raise DataError(f"{path}:{number}: not a sample row: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return rows


def resolve_run(run: str | Path, output: Path | None = None) -> Path:
    """A finished run's folder from a run id, a unique short form of one (as tables print it: a suffix such as
    `c3a599`, or a prefix), looked up under `output` (default ./runs), or a folder path."""
    for path in _candidates(run, output):
        if path.is_dir() and (path / SUMMARY).exists():
            return path
        if path.is_dir() and _partial_of(path).is_dir():
            break
    unfinished = find_unfinished(run, output)
    if unfinished is not None:
        raise UsageError(
            f"run {unfinished.name.removesuffix(PARTIAL_SUFFIX)} did not finish ({unfinished})",
            hint=f"finish it with: assay run --resume {unfinished}",
        )
    raise UsageError(
        f"no run found at {str(run)!r}",
        hint=f"give a run id (or its last {MIN_SHORT_ID}+ characters) from --output (default ./runs), "
        "or the path of a run folder",
    )


def find_run(run: str | Path, output: Path | None = None) -> Path | None:
    """The finished run folder `run` names (as resolve_run reads it), or None: for commands that take a run
    or something else (the gate's candidate)."""
    return next((p for p in _candidates(run, output) if p.is_dir() and (p / SUMMARY).exists()), None)


MIN_SHORT_ID = 4  # characters of a run id given as a prefix or suffix


def match_run_id(text: str, ids: Iterable[str]) -> str | None:
    """The one id among `ids` that is `text`, or starts or ends with it (at least MIN_SHORT_ID characters);
    None when none does; a one-line error listing them when several do."""
    known = sorted(set(ids))
    if text in known:
        return text
    if len(text) < MIN_SHORT_ID:
        return None
    found = [i for i in known if i.startswith(text) or i.endswith(text)]
    if len(found) > 1:
        shown = ", ".join(found[:6]) + (f" and {len(found) - 6} more" if len(found) > 6 else "")
        raise UsageError(f"run id {text!r} is ambiguous: it matches {shown}", hint="give more of the id")
    return found[0] if found else None


def _candidates(run: str | Path, output: Path | None) -> list[Path]:
    out = [Path(run)]
    text = str(run)
    if not text or text in {".", ".."} or "/" in text or os.sep in text:
        return out  # a path: taken as it is
    base = output or DEFAULT_OUTPUT
    out.append(base / text)
    if not (base / text).exists() and base.is_dir():
        ids = (p.name.removesuffix(PARTIAL_SUFFIX) for p in base.iterdir() if p.is_dir())
        short = match_run_id(text, (i for i in ids if RUN_ID_RE.match(i)))
        if short is not None and short != text:
            out.append(base / short)
    return out


def _partial_of(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def find_unfinished(run: str | Path, output: Path | None = None) -> Path | None:
    """The `.partial` folder of an unfinished run (by id, short id, final path or its own path), if any."""
    for path in _candidates(run, output):
        for candidate in (path, _partial_of(path)):
            if candidate.name.endswith(PARTIAL_SUFFIX) and (candidate / CONFIG).is_file():
                return candidate
        # a run folder written before `.partial` existed: config and journal, no summary (a model checkpoint
        # folder also holds a config.json: without the journal it is not a run)
        if (path.is_dir() and (path / CONFIG).is_file() and (path / "responses.sqlite").is_file()
                and not (path / SUMMARY).exists()):  # fmt: skip
            return path
    return None


def open_run(run: str | Path, output: Path | None = None) -> RunFolder:
    """A finished run folder, read and validated."""
    path = resolve_run(run, output)
    return RunFolder(path=path, record=read_record(path / SUMMARY))


def list_runs(output: Path) -> list[RunFolder]:
    """Every finished run directly under `output`, oldest first (unfinished `.partial` folders are skipped)."""
    if not output.is_dir():
        return []
    folders = sorted(
        p for p in output.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL_SUFFIX) and (p / SUMMARY).exists()
    )
    return [RunFolder(path=p, record=read_record(p / SUMMARY)) for p in folders]


def read_config(run_dir: Path) -> dict[str, Any]:
    """The config.json of a (finished or unfinished) run folder, as the command that wrote it saved it."""
    data = read_json_file(run_dir / CONFIG)
    if not isinstance(data, dict):
        raise DataError(f"{run_dir / CONFIG}: expected a JSON object", hint="the file is damaged")
    return data


Config = TypeVar("Config", bound=BaseModel)


def read_config_as(run_dir: Path, kind: type[Config], command: str, hint: str) -> Config:
    """config.json validated as the config of `command` (e.g. "assay run"); one that is not is a one-line
    error naming the file and the command."""
    try:
        return kind.model_validate(read_config(run_dir))
    except ValidationError as exc:
        raise ConfigError(
            f"{run_dir / CONFIG}: not an `{command}` configuration: {str(exc).splitlines()[0]}", hint=hint
        ) from None
