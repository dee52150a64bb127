"""`assay audit RUN`: re-run a recorded evaluation from its run record alone and compare.

The re-run takes the recorded config.json, turns the response cache off (it recomputes every request; only the
re-run's own fresh journal is written), writes into a separate folder and appends to a private leaderboard, so
the audit never changes the user's runs or leaderboard.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.audit.compare import AuditReport, compare_runs
from assay.errors import ConfigError, UsageError
from assay.runs.folder import CONFIG, open_run, read_config, resolve_run


@dataclass(frozen=True)
class AuditResult:
    """The comparison, where the re-run went, and how much it recomputed."""

    report: AuditReport
    rerun_dir: Path
    stats: dict[str, Any]

    @property
    def requests_computed(self) -> int:
        return sum(int(s.get("requests_computed", 0)) for s in self.stats.values() if isinstance(s, dict))

    @property
    def requests_cached(self) -> int:
        return sum(int(s.get("requests_cached", 0)) for s in self.stats.values() if isinstance(s, dict))

    @property
    def forward_passes(self) -> int:
        return sum(int(s.get("forward_passes", 0)) for s in self.stats.values() if isinstance(s, dict))


def audit_config(run_dir: Path, output: Path, data_dir: str | None = None) -> Any:
    """The recorded RunConfig, redirected: no cache, no tracking, output and leaderboard under `output`."""
    from assay.config import RunConfig

    folder = open_run(run_dir)  # a finished run: an unfinished one is named with the command that resumes it
    if folder.record.command != "run":
        writer = folder.record.command.replace("-", " ")
        raise UsageError(f"run {run_dir} was written by `assay {writer}`: only `assay run` runs can be re-run")
    if not (run_dir / CONFIG).exists():
        raise UsageError(f"run {run_dir} has no {CONFIG}: it cannot be audited")
    try:
        config = RunConfig.model_validate(read_config(run_dir))
    except ValidationError as exc:
        raise ConfigError(f"{run_dir / CONFIG} is not a valid run config: {str(exc).splitlines()[0]}") from exc
    changes: dict[str, Any] = {
        "use_cache": False,
        "track": False,
        "output": str(output),
        "leaderboard": str(output / "leaderboard.csv"),
    }
    if data_dir is not None:
        changes["data_dir"] = data_dir
    return config.model_copy(update=changes)


def audit_run(
    run: str | Path,
    *,
    runs_output: Path = Path("runs"),
    workdir: Path | None = None,
    data_dir: str | None = None,
    tolerance: float | None = None,
    show_progress: bool = True,
) -> AuditResult:
    """Re-run `run` from its config alone (cache off) and compare samples and metrics with the record."""
    from assay.runner import run_evaluation

    run_dir = resolve_run(run, runs_output)
    base = workdir or Path(tempfile.mkdtemp(prefix="assay-audit-"))
    config = audit_config(run_dir, base, data_dir)
    _forget_loaded_data()
    record, rerun_dir = run_evaluation(config, show_progress=show_progress)
    report = compare_runs(run_dir, rerun_dir, tolerance)
    return AuditResult(report, rerun_dir, dict(record.stats))


def _forget_loaded_data() -> None:
    """The data loader memoizes files by path within a process; an audit must read them as they are now."""
    from assay.data import sources

    for name in ("_read_jsonl", "_read_csv"):
        cache_clear = getattr(getattr(sources, name, None), "cache_clear", None)
        if cache_clear is not None:
            cache_clear()
