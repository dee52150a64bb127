"""`assay dvc init`: params.yaml and dvc.yaml for a models x tasks pipeline of `assay run` stages.

params.yaml pins what the results depend on: each task's limit and few-shot count, the seed, the batch size,
and each model's backend, args and fingerprint (the one a run of it records, assay.models.identity: of an
alias's folder, a checkpoint folder or GGUF file, a hub id at its commit, or a registry version). dvc.yaml has
one `foreach` stage per model and task:

    eval@<model>-<task>   assay run ... --run-dir runs/<model>-<task> --no-leaderboard
                          deps: the data folder; params: seed, batch_size, tasks.<task>, models.<model>
                          outs: runs/<model>-<task>/; metrics: metrics/<model>-<task>.json (a copy of the run's
                          metrics.json, outside the run folder because DVC outputs must not overlap)
    leaderboard           results/leaderboard.csv and results/report/ from every run folder

So `dvc repro` reruns exactly the stages whose task or model changed: a new limit for one task reruns that
task's stages, a model whose files changed (a new fingerprint after `assay dvc init --refresh`) reruns its own.
Both files start with a marker line; a dvc.yaml or params.yaml without it was written by hand and is only
replaced with --force.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from assay.data.sources import read_yaml
from assay.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from assay.models.identity import ModelIdentity

MARKER = "# written by `assay dvc init`"
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True, slots=True)
class PipelineModel:
    """One model of the matrix: its stage key, what `assay run --model` takes, its args and fingerprint."""

    key: str
    model: str
    args: str  # key=value,... as --model-args takes them
    fingerprint: str


@dataclass(frozen=True, slots=True)
class PipelineTask:
    name: str
    limit: int
    num_fewshot: int


@dataclass(frozen=True, slots=True)
class Layout:
    """Where the pipeline reads data and writes its outputs, relative to the repository root."""

    data_dir: str
    runs: str = "runs"
    metrics: str = "metrics"
    results: str = "results"


# ------------------------------------------------------------------------------------------- models


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "model"


def fingerprint_of(model: str, args: dict[str, Any]) -> str:
    """The fingerprint a run of this model records (assay.models.identity), or a registry version's tag of it."""
    if model.startswith("models:/"):
        from assay.tracking.model_registry import get_version, parse_registry_uri
        from assay.tracking.store import get_client

        name, version, alias = parse_registry_uri(model)
        client, _ = get_client(args.get("tracking_uri"))
        return str(get_version(client, name, version, alias).tags.get("assay.fingerprint", ""))
    return _identity(model, args).fingerprint


def _identity(model: str, args: dict[str, Any]) -> ModelIdentity:
    from assay.config import ModelSpec
    from assay.models.backends import resolve_spec
    from assay.models.identity import identify

    backend, full_args, _ = resolve_spec(ModelSpec(model=model, args=args))  # an alias's preset args too
    return identify(backend, full_args)


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _hub_model(spec: str) -> tuple[str, str, str]:
    """(key, backend, args) of a hub id, which must be in the hub cache or on the hub (a typo is refused)."""
    args = f"pretrained={spec},dtype=float32"
    if not _identity("hf", _parse_args(args)).version:
        raise UsageError(
            f"{spec!r} is neither a model alias, an existing checkpoint path, nor a hub model found here",
            hint="give an alias, a folder, a .gguf file, or a hub id that is reachable or in the hub cache",
        )
    return spec.rsplit("/", 1)[1], "hf", args


def describe(text: str) -> PipelineModel:
    """`[KEY=]alias|path|hub id|models:/Name@alias` -> a pipeline model (its identity is computed now)."""
    from assay.models.aliases import ALIASES
    from assay.tracking.model_registry import describe_model, parse_registry_uri

    key, _, spec = text.rpartition("=") if "=" in text and not text.startswith("models:/") else ("", "", text)
    if spec.startswith("models:/"):
        name, version, alias = parse_registry_uri(spec)
        default_key, model, args = f"{name}-{alias or 'v' + str(version or 'latest')}", spec, ""
    elif spec in ALIASES:
        default_key, model, args = spec, spec, ""
    elif not Path(spec).expanduser().exists() and _HUB_ID.match(spec):
        default_key, model, args = _hub_model(spec)
    else:
        _, backend, load_args, path = describe_model(spec, {})
        rel = os.path.relpath(path) if not Path(spec).is_absolute() else str(path)
        load_args["pretrained"] = rel if not load_args.get("gguf_file") else os.path.dirname(rel) or "."
        load_args.setdefault("dtype", "float32")
        default_key, model = Path(spec.rstrip("/")).stem, backend
        args = ",".join(f"{k}={v}" for k, v in load_args.items())
    key = key or _safe_key(default_key)
    if not _KEY.match(key):
        raise UsageError(f"model key {key!r} is not a plain name", hint="use letters, digits, '-', '_' or '.'")
    return PipelineModel(key, model, args, fingerprint_of(model, _parse_args(args)))


def _parse_args(args: str) -> dict[str, Any]:
    from assay.keyvalues import parse_kv

    return parse_kv(args)


def check_tasks(names: list[str], limit: int, num_fewshot: int | None) -> list[PipelineTask]:
    """Known tasks (or groups) with their limit and few-shot count (each task's own default if None)."""
    from assay.tasks.catalog import select

    out = []
    for name in names:
        specs = select([name]).tasks  # unknown names fail here, with a did-you-mean hint
        shots = num_fewshot if num_fewshot is not None else specs[0].num_fewshot
        out.append(PipelineTask(name, limit, shots))
    return out


# ------------------------------------------------------------------------------------------- files


def params_document(models: list[PipelineModel], tasks: list[PipelineTask], seed: int, batch: int | str) -> str:
    """params.yaml: what every stage's results depend on."""
    data = {
        "seed": seed,
        "batch_size": batch,
        "tasks": {t.name: {"limit": t.limit, "num_fewshot": t.num_fewshot} for t in tasks},
        "models": {m.key: {"model": m.model, "args": m.args, "fingerprint": m.fingerprint} for m in models},
    }
    header = f"{MARKER}; edit values here or `dvc exp run -S tasks.<task>.limit=N`\n"
    return header + yaml.safe_dump(data, sort_keys=False)


def dvc_document(models: list[PipelineModel], tasks: list[PipelineTask], layout: Layout) -> str:
    """dvc.yaml: one stage per model x task, and the leaderboard stage over all of their run folders."""
    matrix = {
        f"{m.key}-{t.name}": {
            "model": m.key, "task": t.name, "ref": f"${{models.{m.key}.model}}",
            "args": f"${{models.{m.key}.args}}", "limit": f"${{tasks.{t.name}.limit}}",
            "fewshot": f"${{tasks.{t.name}.num_fewshot}}",
        }  # fmt: skip
        for m in models
        for t in tasks
    }
    run = (
        'assay run --model "${item.ref}" --model-args "name=${item.model},${item.args}" --tasks ${item.task}'
        " --limit ${item.limit}"
        " --num-fewshot ${item.fewshot} --seed ${seed} --batch-size ${batch_size}"
        f' --data-dir "{layout.data_dir}" --run-dir "{layout.runs}/${{key}}" --no-leaderboard --quiet'
    )
    copy = f'mkdir -p "{layout.metrics}" && cp "{layout.runs}/${{key}}/metrics.json" "{layout.metrics}/${{key}}.json"'
    folders = [f"{layout.runs}/{key}" for key in matrix]
    board = f"{layout.results}/leaderboard.csv"
    pairs = " ".join(f"{matrix[k]['model']}={layout.runs}/{k}" for k in matrix)
    stages = {
        "eval": {
            "foreach": matrix,
            "do": {
                "cmd": [run, copy],
                "deps": [layout.data_dir],
                "params": ["seed", "batch_size", "tasks.${item.task}", "models.${item.model}"],
                "outs": [f"{layout.runs}/${{key}}"],
                "metrics": [{f"{layout.metrics}/${{key}}.json": {"cache": False}}],
            },
        },
        "leaderboard": {
            "cmd": [
                f"assay dvc leaderboard --output {board} {pairs}",
                f"assay report --output {layout.results}/report --leaderboard {board} --runs {layout.runs}",
            ],
            "deps": folders,
            "outs": [board, f"{layout.results}/report"],
        },
    }
    header = f"{MARKER} (`assay dvc init --force` writes it again; hand edits are yours to keep)\n"
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False, width=1000)


def check_replaceable(path: Path, force: bool) -> None:
    """A file not written by `assay dvc init` is replaced only with --force."""
    if force or not path.exists():
        return
    if not path.read_text(encoding="utf-8").startswith(MARKER):
        raise UsageError(
            f"{path} exists and was not written by `assay dvc init`",
            hint="move it away, or pass --force to replace it",
        )


def write_all(files: dict[Path, str]) -> None:
    """Write every file to a temporary sibling first, then rename them all: none is left half-written."""
    staged = []
    try:
        for path, text in files.items():
            tmp = path.with_name(f".{path.name}.assay-tmp")
            tmp.write_text(text, encoding="utf-8")
            staged.append((tmp, path))
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)


def read_params(path: Path) -> dict[str, Any]:
    """The pipeline's params.yaml, checked to be one `assay dvc init` wrote."""
    if not path.exists():
        raise UsageError(f"no {path} here", hint="run `assay dvc init --models ... --tasks ...` first")
    check_replaceable(path, force=False)
    data = read_yaml(path)  # bad YAML, too deep, huge numbers: one line naming the file
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        raise ConfigError(f"{path}: no `models:` mapping", hint="write it again with `assay dvc init --force`")
    return data


def refresh_fingerprints(path: Path) -> list[tuple[str, str, str]]:
    """Recompute each model's fingerprint in params.yaml; (key, old, new) of those that changed."""
    data = read_params(path)
    changed = []
    for key, entry in data["models"].items():
        new = fingerprint_of(str(entry["model"]), _parse_args(str(entry.get("args") or "")))
        if new != entry.get("fingerprint"):
            changed.append((key, str(entry.get("fingerprint")), new))
            entry["fingerprint"] = new
    if changed:
        text = path.read_text(encoding="utf-8")
        header = text.splitlines()[0] + "\n"
        write_all({path: header + yaml.safe_dump(data, sort_keys=False)})
    return changed
