"""Weights & Biases as a second tracker, offline by default (no account needed).

    assay tracking log RUN --tracker wandb

The same content as the MLflow logging (params, metrics with stderr, tags, samples, plot) goes into a local
W&B run folder; `wandb sync <folder>` uploads it later if wanted. Set WANDB_MODE=online to log directly.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from assay.errors import TrackingError, require
from assay.runs.layout import safe_name
from assay.tracking import naming
from assay.tracking.mlflow_log import _metrics, _params, _read_run, _spec_for, _tags, _top_level_tasks
from assay.tracking.plots import metrics_plot


def log_run_wandb(
    run_dir: Path, project: str | None = None, run_name: str | None = None, wandb_dir: Path | None = None
) -> Path:
    """Log each model of a run folder as one W&B run; returns the folder of the (last) offline run."""
    require("wandb", "wandb")
    import wandb

    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    summary, config = _read_run(Path(run_dir))
    folder = Path(wandb_dir or Path.cwd())
    folder.mkdir(parents=True, exist_ok=True)
    last: Path | None = None
    for model in summary["models"]:
        results = [r for r in summary["results"] if r["model"] == model["name"]]
        spec = _spec_for(config, model["name"])
        family, variant = naming.model_family_variant(
            spec.get("model", model["name"]), {**model["args"], **spec.get("args", {})}
        )
        name = run_name or naming.run_name(model["name"], variant)
        group = project or naming.experiment_name(_top_level_tasks(results), family)
        try:
            last = _log_one(
                wandb, Path(run_dir), folder, group, name, summary, config, model, results, family, variant
            )
        except Exception as exc:  # wandb raises many types; the user gets one line
            raise TrackingError(f"logging {run_dir} to W&B failed: {exc}") from exc
    if last is None:
        raise TrackingError(f"{run_dir} has no models to log")
    return last


def _log_one(
    wandb: Any, run_dir: Path, folder: Path, project: str, name: str, summary: dict[str, Any],
    config: dict[str, Any], model: dict[str, Any], results: list[dict[str, Any]], family: str, variant: str,
) -> Path:  # fmt: skip
    tags = _tags(summary, model, results, family, variant)
    run = wandb.init(
        project=project, name=name, dir=str(folder), config=_params(config, model, results),
        tags=[f"assay:{summary['run_id']}"], notes=f"assay run {summary['run_id']}", reinit="create_new",
    )  # fmt: skip
    try:
        metrics = _metrics(summary, results)
        run.log(metrics)
        for key, value in {**metrics, **tags}.items():
            run.summary[key] = value
        artifact = wandb.Artifact(safe_name(f"{summary['run_id']}-{model['name']}"), type="assay-run")
        for file in ("summary.json", "config.json", "metrics.json"):
            if (run_dir / file).exists():
                artifact.add_file(str(run_dir / file), name=file)
        for sample_file in sorted((run_dir / "samples").glob(safe_name(model["name"]) + "_*.jsonl")):
            artifact.add_file(str(sample_file), name=f"samples/{sample_file.name}")
        plot = metrics_plot(results, name, Path(run.dir) / "metrics.png")
        if plot is not None:
            run.log({"metrics_plot": wandb.Image(str(plot))})
        run.log_artifact(artifact)
    finally:
        run.finish()
    return Path(run.dir).parent


def read_offline_run(run_folder: Path) -> dict[str, Any]:
    """Read back an offline run's transaction log: {"summary": {key: value}, "config": {key: value}}.

    The `.wandb` file is a LevelDB-style log (32 KiB blocks of checksummed chunks) of protobuf records,
    after a 7-byte W&B header; this is what `wandb sync` would upload.
    """
    from wandb.proto import wandb_internal_pb2 as pb2

    files = sorted(Path(run_folder).glob("run-*.wandb"))
    if not files:
        raise TrackingError(f"{run_folder} holds no W&B transaction log (run-*.wandb)")
    out: dict[str, dict[str, Any]] = {"summary": {}, "config": {}}
    for payload in _log_records(files[0].read_bytes()):
        record = pb2.Record()  # type: ignore[attr-defined]
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "summary":
            out["summary"].update({i.key: json.loads(i.value_json) for i in record.summary.update if i.key})
        elif kind == "run":
            out["config"].update({i.key: json.loads(i.value_json) for i in record.run.config.update if i.key})
    return out


def _log_records(data: bytes, block: int = 32768, header: int = 7) -> list[bytes]:
    records, pending, pos = [], b"", header
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a chunk header is padding
            pos += block - pos % block
            continue
        length, kind = struct.unpack("<HB", data[pos + 4 : pos + 7])
        chunk, pos = data[pos + 7 : pos + 7 + length], pos + 7 + length
        if kind == 1:  # full
            records.append(chunk)
        elif kind in (2, 3):  # first, middle
            pending = chunk if kind == 2 else pending + chunk
        elif kind == 4:  # last
            records.append(pending + chunk)
        else:
            break
    return records
