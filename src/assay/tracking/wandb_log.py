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
from assay.records import ModelInfo
from assay.runs.folder import RunFolder, open_run, read_config
from assay.runs.layout import safe_name
from assay.tracking import naming
from assay.tracking.mlflow_log import artifact_files, metrics, model_family_variant, params, tags, top_level_tasks
from assay.tracking.plots import metrics_plot


def log_run_wandb(
    run_dir: Path, project: str | None = None, run_name: str | None = None, wandb_dir: Path | None = None
) -> Path:
    """Log each model of a run folder as one W&B run; returns the folder of the (last) offline run."""
    require("wandb", "wandb")
    import wandb

    os.environ.setdefault("WANDB_MODE", "offline")
    os.environ.setdefault("WANDB_SILENT", "true")
    run = open_run(Path(run_dir))
    config = read_config(run.path)
    folder = Path(wandb_dir or Path.cwd())
    folder.mkdir(parents=True, exist_ok=True)
    last: Path | None = None
    for model in run.record.models:
        family, variant = model_family_variant(config, model)
        name = run_name or naming.run_name(model.name, variant)
        group = project or naming.experiment_name(top_level_tasks(run.record.task_results(model.name)), family)
        try:
            last = _log_one(wandb, run, config, folder, (group, name), model, (family, variant))
        except Exception as exc:  # wandb raises many types; the user gets one line
            raise TrackingError(f"logging {run_dir} to W&B failed: {exc}") from exc
    if last is None:
        raise TrackingError(f"{run_dir} has no models to log")
    return last


def _log_one(
    wandb: Any, folder: RunFolder, config: dict[str, Any], wandb_dir: Path, project_name: tuple[str, str],
    model: ModelInfo, family_variant: tuple[str, str],
) -> Path:  # fmt: skip
    record, (project, name) = folder.record, project_name
    results = record.task_results(model.name)
    run_tags = tags(record, model, *family_variant)
    run = wandb.init(
        project=project, name=name, dir=str(wandb_dir), config=params(config, model, results),
        tags=[f"assay:{record.run_id}"], notes=f"assay run {record.run_id}", reinit="create_new",
    )  # fmt: skip
    try:
        values = metrics(record, model.name)
        run.log(values)
        for key, value in {**values, **run_tags}.items():
            run.summary[key] = value
        artifact = wandb.Artifact(safe_name(f"{record.run_id}-{model.name}"), type="assay-run")
        for path, file_name in artifact_files(folder, model.name):
            artifact.add_file(str(path), name=file_name)
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
