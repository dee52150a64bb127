"""What the gate compares: the candidate (a run, or a model to evaluate now) and the baseline (a run, or a
registered model version whose evaluating run is found locally or downloaded from MLflow).

    candidate  run id | run folder            -> used as is
               unfinished run (.partial)   -> finished first (the gate's own resume after an interrupt)
               alias | checkpoint path | models:/Name@alias | backend name   -> evaluated by the runner
    baseline   run id | run folder            -> used as is
               models:/Name@alias | models:/Name/3   -> the run tagged `assay.run_id` on that version
"""

from __future__ import annotations

import fnmatch
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.config import ModelSpec, RunConfig
from assay.errors import TrackingError, UsageError, did_you_mean
from assay.runs.folder import SUMMARY, find_run, find_unfinished, open_run, resolve_run

WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin", "*.gguf")


@dataclass(frozen=True)
class Side:
    """A finished run folder and the model in it that the gate compares (None: the run's only model)."""

    run_dir: Path
    model: str | None
    origin: str  # how it was found, for the summary ("run folder", "evaluated now", "models:/X@champion")


def _is_run_folder(path: Path) -> bool:
    return path.is_dir() and (path / SUMMARY).exists()


def _is_checkpoint(path: Path) -> bool:
    if path.is_file():
        return path.suffix == ".gguf"
    return path.is_dir() and (path / "config.json").exists() and any(any(path.glob(p)) for p in WEIGHT_FILES)


def looks_like_run(text: str, output: Path) -> bool:
    """A run id (or short id) under `output` or a folder holding summary.json (an HF folder has a config.json)."""
    return find_run(text, output) is not None


def run_side(text: str, output: Path, origin: str, model: str | None = None) -> Side:
    """A finished run given by id or folder (an error says so when it did not finish)."""
    return Side(resolve_run(text, output), model, origin)


def baseline_side(text: str, output: Path, tracking_uri: str | None) -> Side:
    """The baseline: a finished run (id, short id or folder) or a registered model's evaluating run."""
    if text.startswith("models:/"):
        return baseline_from_registry(text, output, tracking_uri)
    if find_run(text, output) is None and find_unfinished(text, output) is None:
        from assay.models.backends import known_models

        model = text in known_models() or _is_checkpoint(Path(text).expanduser())
        raise UsageError(
            f"baseline {text!r} is not a run: a baseline is a finished run (its id, short id or folder) "
            "or a registered model, models:/NAME@alias or models:/NAME/VERSION",
            hint=f"evaluate {text} first (assay run --model {text} --tasks ...) and pass its run id"
            if model else f"run ids are looked up under {output} (--output)",
        )  # fmt: skip
    return run_side(text, output, "given as a run")


def recorded_rows(side: Side) -> tuple[int | float | None, dict[str, tuple[int, ...]] | None]:
    """Which rows the side's run was made on: its --limit (a count, or for lm: tasks a fraction; None: every
    row) and its lm: tasks' --samples (document ids per task; None: not given)."""
    config = open_run(side.run_dir).record.config
    limit = config.get("limit")
    samples = config.get("samples")
    ids = {str(t): tuple(int(i) for i in v) for t, v in samples.items()} if isinstance(samples, dict) else None
    return (limit if isinstance(limit, int | float) and not isinstance(limit, bool) else None), ids


def resume_candidate(partial: Path) -> Side:
    """Finish the candidate's interrupted run (its own saved config) and use it as the candidate side."""
    from pydantic import ValidationError

    from assay.errors import ConfigError
    from assay.runner import run_evaluation
    from assay.runs.folder import read_config

    try:
        config = RunConfig.model_validate(read_config(partial))
    except ValidationError as exc:
        what = exc.errors()[0]["msg"]
        raise ConfigError(f"{partial}/config.json: not an `assay run` configuration: {what}") from None
    record, run_dir = run_evaluation(config, resume_dir=partial)
    return Side(run_dir, record.models[0].name, f"resumed now ({partial.name})")


def candidate_spec(text: str, model_args: dict[str, Any], tracking_uri: str | None) -> ModelSpec:
    """The ModelSpec of a candidate given as alias, backend, registry URI or checkpoint path."""
    from assay.models.backends import known_models

    if text.startswith("models:/"):
        return ModelSpec(
            model=text, args={**model_args, **({"tracking_uri": tracking_uri} if tracking_uri else {})}
        )
    if text in known_models():
        return ModelSpec(model=text, args=model_args)
    path = Path(text).expanduser()
    if _is_checkpoint(path):
        args = {"dtype": "float32", **model_args}
        if path.is_file():  # a GGUF file: transformers loads it from its folder by name
            args.update(pretrained=str(path.parent.resolve()), gguf_file=path.name)
        else:
            args["pretrained"] = str(path.resolve())
        return ModelSpec(name=text.rstrip("/"), model="hf", args=args)
    from assay.models.hf import check_pretrained

    check_pretrained(text)  # a path to nothing: "no such folder"
    raise UsageError(
        f"candidate {text!r} is neither a run (id or folder with summary.json) nor a model",
        hint=did_you_mean(text, known_models())
        or "give a run, an alias, models:/Name@alias, or a checkpoint folder (config.json + weights)",
    )


def evaluate_candidate(spec: ModelSpec, config_fields: dict[str, Any], notice: str | None = None) -> Side:
    """Run the benchmark set on the candidate model with the runner; its run folder is the candidate side.
    `notice` (what the gate chose, e.g. its limit) is printed once the inputs are checked, before the work."""
    from pydantic import ValidationError

    from assay.preflight import check_run
    from assay.runner import run_evaluation

    try:
        config = RunConfig(models=(spec,), **config_fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from exc
    checked = check_run(config)  # a bad task file or option fails here, before the candidate model loads
    if notice:
        print(notice, file=sys.stderr, flush=True)
    record, run_dir = run_evaluation(config, checked=checked)
    limit = "every row" if config.limit is None else f"limit {config.limit}"
    return Side(run_dir, record.models[0].name, f"evaluated now ({spec.model}, {limit})")


def _download_run(client: Any, mlflow_run_id: str, dest: Path) -> Path:
    """Fetch an assay run folder (summary, metrics, samples) from the artifacts of an MLflow run into `dest`.

    The download goes to a temporary sibling that is renamed at the end: a half download is never reused.
    """
    import shutil

    from mlflow.artifacts import download_artifacts

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    folder = Path(
        download_artifacts(run_id=mlflow_run_id, dst_path=str(tmp), tracking_uri=client.tracking_uri)
    )
    if not (folder / SUMMARY).exists():
        raise TrackingError(f"MLflow run {mlflow_run_id} holds no assay summary.json among its artifacts")
    folder.rename(dest)
    shutil.rmtree(tmp, ignore_errors=True)
    return dest


def baseline_from_registry(uri: str, output: Path, tracking_uri: str | None) -> Side:
    """The run that evaluated a registered version: local under `output` if present, else its MLflow copy."""
    from assay.tracking.model_registry import get_version, parse_registry_uri
    from assay.tracking.store import get_client

    name, version, alias = parse_registry_uri(uri)
    client, _ = get_client(tracking_uri)
    mv = get_version(client, name, version, alias)
    tags = dict(mv.tags or {})
    run_id = tags.get("assay.run_id")
    if not run_id:
        raise UsageError(
            f"{uri} (version {mv.version}) records no evaluation run, so there is nothing to compare against",
            hint="register it with its run (assay registry register ... --run RUN), or pass --baseline RUN",
        )
    if _is_run_folder(output / run_id):
        return Side(output / run_id, None, f"{uri} (version {mv.version}, run {run_id})")
    if not mv.run_id:
        raise TrackingError(
            f"run {run_id} of {uri} is not under {output} and the version names no MLflow run"
        )
    # kept beside the runs (a hidden folder, so run listings skip it) and reused by the next gate
    dest = output / ".mlflow-baselines" / mv.run_id
    folder = dest if _is_run_folder(dest) else _download_run(client, mv.run_id, dest)
    return Side(folder, None, f"{uri} (version {mv.version}, run {run_id}, from MLflow)")


def _models_with_samples(side: Side) -> list[str]:
    folder = open_run(side.run_dir)
    out = []
    for m in folder.record.models:
        results = folder.record.task_results(m.name, groups=False)
        if results and all(folder.has_samples(m.name, r.task) for r in results):
            out.append(m.name)
    return out


def pick_model(side: Side) -> str | None:
    """The side's model: as given, else the one model with samples in the folder (None: stats decides)."""
    if side.model:
        return side.model
    models = _models_with_samples(side)
    return models[0] if len(models) == 1 else None


def expand_tasks(requested: Sequence[str], side: Side, model: str | None) -> list[str] | None:
    """Requested names, groups and globs -> the per-sample tasks of the candidate's run (None: all)."""
    if not requested:
        return None
    results = open_run(side.run_dir).record.task_results(model)
    plain = sorted({r.task for r in results if not r.is_group})
    groups = {r.task: list(r.subtasks) for r in results if r.is_group}
    out: list[str] = []
    for name in requested:
        if name in groups:
            matched = [t for t in groups[name] if t in plain]
        elif any(c in name for c in "*?["):
            matched = fnmatch.filter(plain, name)
        else:
            matched = [name] if name in plain else []
        if not matched:
            raise UsageError(
                f"task {name!r} is not in the candidate's run",
                hint=did_you_mean(name, plain + list(groups))
                or f"its tasks: {', '.join(plain + list(groups))}",
            )
        out += [t for t in matched if t not in out]
    return out
