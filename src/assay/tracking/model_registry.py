"""The model registry workflow on MLflow: register a model, promote a version, resolve `models:/` URIs.

A registered version holds the model itself: its files are logged byte for byte as an artifact folder of the
evaluating run (or of a registration run), with their fingerprint in the version's tags (see model_artifacts).
Resolving the version where the files are not downloads them from the tracking server's artifact store into the
local cache and verifies them. `reference_only=True` (`--reference-only`) records only where the files are (a
folder or an alias), for models too large to copy; its MLflow source is a small model card artifact.
Every version carries the backend and args that load it, the model's identity (assay.models.identity) in its
two named parts, `assay.fingerprint` (the backend's, as runs record it: for llamacpp the GGUF and its
precision) and `assay.files_fingerprint` (the files digest), and the benchmark results of the run that
evaluated it, as tags. Each is compared only with its own kind: a run's fingerprint with the fingerprint,
files on disk with the files digest.

    models:/InstructionFollower@champion   a version by alias (champion, challenger)
    models:/InstructionFollower/3          a version by number
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.config import ModelSpec
from assay.errors import TrackingError, UnknownModelError, UsageError, did_you_mean
from assay.models.identity import ModelIdentity, identify, matches
from assay.tracking.naming import is_pascal_case, pascal_case
from assay.tracking.store import ensure_experiment, get_client, require_store

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from assay.records import ModelInfo

ALIASES_ALLOWED = ("champion", "challenger")
REGISTRY_EXPERIMENT = "Model-Registry"
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[\w-]+)|/(?P<version>\d+|latest))?$")


@dataclass(frozen=True)
class VersionInfo:
    """One registered version, as the CLI shows it."""

    name: str
    version: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    source: str
    run_id: str
    created: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def benchmarks(self) -> dict[str, str]:
        """{"<task>/<metric>": value} from the `bench.` tags."""
        return {k[len("bench.") :]: v for k, v in sorted(self.tags.items()) if k.startswith("bench.")}


def _info(mv: ModelVersion, warnings: tuple[str, ...] = ()) -> VersionInfo:
    created = datetime.fromtimestamp((mv.creation_timestamp or 0) / 1000, UTC).isoformat(timespec="seconds")
    return VersionInfo(
        name=mv.name, version=str(mv.version), aliases=tuple(mv.aliases or ()), tags=dict(mv.tags or {}),
        source=mv.source or "", run_id=mv.run_id or "", created=created, warnings=warnings,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------ registering


def check_name(name: str, allow_any: bool = False) -> str:
    """Registered models are PascalCase by convention; `allow_any` keeps another name as given."""
    if allow_any or is_pascal_case(name):
        return name
    raise UsageError(
        f"registered model names are PascalCase, {name!r} is not",
        hint=f"use {pascal_case(name)!r}, or pass --any-name to keep it",
    )


def describe_model(model: str, args: dict[str, Any] | None = None) -> tuple[str, str, dict[str, Any], Path]:
    """(ModelSpec model string, backend, args, the folder or GGUF file) of an alias or a checkpoint path."""
    from assay.models.aliases import ALIASES, hf_folder

    args = dict(args or {})
    if model in ALIASES:
        return model, ALIASES[model].backend, args, hf_folder(model)
    path = Path(model).expanduser()
    if path.exists():
        path = path.resolve()
        backend = str(args.pop("backend", "hf"))
        is_gguf = path.is_file() and path.suffix == ".gguf"
        if backend == "llamacpp":
            if not is_gguf:
                raise UsageError(f"the llamacpp backend loads one .gguf file, not {path}", hint="give the .gguf file")
            return backend, backend, {"path": str(path), **args}, path
        if is_gguf:  # transformers loads a GGUF from its folder by name
            return backend, backend, {"pretrained": str(path.parent), "gguf_file": path.name, **args}, path
        return backend, backend, {"pretrained": str(path), **args}, path
    raise UnknownModelError(
        f"{model!r} is neither a model alias nor an existing checkpoint path",
        hint=did_you_mean(model, ALIASES) or f"aliases: {', '.join(sorted(ALIASES))}",
    )


def _full_args(model: str, args: dict[str, Any]) -> dict[str, Any]:
    """The args the backend loads with: an alias's presets made explicit."""
    from assay.models.aliases import ALIASES

    return {**ALIASES[model].preset_args(), **args} if model in ALIASES else dict(args)


def register_model(
    name: str,
    model: str,
    *,
    run: str | Path | None = None,
    runs_output: Path = Path("runs"),
    args: dict[str, Any] | None = None,
    tracking_uri: str | None = None,
    allow_any_name: bool = False,
    reference_only: bool = False,
) -> VersionInfo:
    """Register a checkpoint or alias as a new version of `name`, with its files (unless `reference_only`),
    fingerprint and evaluation results."""
    from assay.tracking.model_artifacts import portable_args

    check_name(name, allow_any_name)
    model_str, backend, model_args, path = describe_model(model, args)
    identity = identify(backend, _full_args(model, model_args))
    fingerprint = identity.fingerprint
    client, uri = get_client(tracking_uri)
    tags = {
        "assay.fingerprint": fingerprint,
        "assay.files_fingerprint": identity.files_digest,
        "assay.backend": backend,
        "assay.model": model_str,
        "assay.args": json.dumps(model_args, sort_keys=True),
        "assay.path": str(path),
        "assay.storage": "reference" if reference_only else "artifact",
    }
    if identity.precision:
        tags["assay.precision"] = identity.precision
    if not reference_only:
        load_args = portable_args(backend, _full_args(model, model_args))
        tags.update({"assay.model": backend, "assay.args": json.dumps(load_args, sort_keys=True)})
    warnings: tuple[str, ...] = ()
    run_id = ""
    if run is not None:
        run_tags, run_id, warnings = _evaluation_tags(run, runs_output, uri, model, identity)
        tags.update(run_tags)
    if not run_id:
        run_id = _registration_run(client, uri, name)
    if reference_only:
        source = _log_model_card(client, run_id, name, tags)
    else:
        source = _log_files(client, run_id, name, path, tags)
    _ensure_registered(client, name)
    mv = client.create_model_version(
        name, source, run_id=run_id, tags=tags, description=f"{model} ({fingerprint})"
    )
    return _info(client.get_model_version(name, mv.version), warnings)


def _log_files(client: MlflowClient, run_id: str, name: str, path: Path, tags: dict[str, str]) -> str:
    """Upload the model's files into the run (adding their tags); return the version's `runs:/` source."""
    from assay.tracking.model_artifacts import log_model_files

    card = {"registered_model": name, "created": datetime.now(UTC).isoformat(timespec="seconds"), **tags}
    logged = log_model_files(client, run_id, name, path, card)
    tags.update(
        {
            "assay.artifact": logged.artifact_path,
            "assay.files_fingerprint": logged.files_fingerprint,
            "assay.files": str(logged.count),
            "assay.size_bytes": str(logged.size),
        }
    )
    return f"runs:/{run_id}/{logged.artifact_path}"


def _evaluation_tags(
    run: str | Path, runs_output: Path, uri: str, model: str, identity: ModelIdentity
) -> tuple[dict[str, str], str, tuple[str, ...]]:
    """The model's results in a run folder as tags, and that run's MLflow id (logging it if new)."""
    from assay.runs.folder import open_run
    from assay.tracking.mlflow_log import log_runs

    run_folder = open_run(run, runs_output)
    record = run_folder.record
    names = [m.name for m in record.models]
    chosen = model if model in names else (names[0] if len(names) == 1 else "")
    if not chosen:
        raise UsageError(f"run {record.run_id} evaluated {names}, none named {model!r}", hint="pick the run")
    info = record.model(chosen)
    tags = {"assay.run_id": record.run_id, "assay.run_fingerprint": info.fingerprint}
    for result in record.task_results(chosen):
        for metric, mv in result.metrics.items():
            tags[f"bench.{result.task}/{metric}"] = f"{mv.value:.6g}"
            if mv.stderr is not None:
                tags[f"bench.{result.task}/{metric}_stderr"] = f"{mv.stderr:.3g}"
    logged = log_runs(run_folder.path, uri, None)
    by_model = {lr.model: lr.run_id for lr in logged}
    return tags, by_model.get(chosen, ""), _changes(info, identity)


def _changes(info: ModelInfo, identity: ModelIdentity) -> tuple[str, ...]:
    """What differs between the model a run evaluated and the one registered, like with like."""
    if info.files_digest and identity.files_digest and info.files_digest != identity.files_digest:
        return (f"the run evaluated files {info.files_digest}, the files now hash to {identity.files_digest}",)
    if info.fingerprint and info.fingerprint != identity.fingerprint:
        what = "the files or how the backend runs them" if info.backend == identity.backend else "the backend"
        return (
            f"the run evaluated fingerprint {info.fingerprint} ({info.backend}), the model registered has "
            f"{identity.fingerprint} ({identity.backend}): {what} differ",
        )
    return ()


def _registration_run(client: MlflowClient, uri: str, name: str) -> str:
    exp_id = ensure_experiment(client, uri, REGISTRY_EXPERIMENT)
    run = client.create_run(exp_id, run_name=f"register-{name}")
    client.set_terminated(run.info.run_id, status="FINISHED")
    return str(run.info.run_id)


def _log_model_card(client: MlflowClient, run_id: str, name: str, tags: dict[str, str]) -> str:
    """Upload a JSON card (what the version points at) into the run; return its `runs:/` source URI."""
    card = {"registered_model": name, "created": datetime.now(UTC).isoformat(timespec="seconds"), **tags}
    with tempfile.TemporaryDirectory(prefix="assay-card-") as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        (folder / "model_card.json").write_text(json.dumps(card, indent=2, sort_keys=True), encoding="utf-8")
        client.log_artifacts(run_id, str(folder), artifact_path=f"model_card/{name}")
    return f"runs:/{run_id}/model_card/{name}"


def _ensure_registered(client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        try:
            client.create_registered_model(name, tags={"assay.convention": "PascalCase"})
        except MlflowException:
            client.get_registered_model(name)  # created meanwhile by another process: fine


# ------------------------------------------------------------------------------------ reading, promoting


def get_version(client: MlflowClient, name: str, version: str | None = None, alias: str | None = None) -> Any:
    """A model version by number or alias, or TrackingError naming what exists."""
    from mlflow.exceptions import MlflowException

    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version in (None, "latest"):
            versions = client.search_model_versions(f"name = '{name}'")
            if versions:
                return max(versions, key=lambda mv: int(mv.version))
            raise MlflowException(f"no versions of {name}")
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise TrackingError(
            f"no {'alias ' + alias if alias else 'version ' + str(version)} of registered model {name!r}",
            hint=_known_hint(client, name),
        ) from exc


def _known_hint(client: MlflowClient, name: str) -> str:
    models = [m.name for m in client.search_registered_models(max_results=1000)]
    if name not in models:
        return did_you_mean(name, models) or f"registered models: {', '.join(models) or 'none yet'}"
    versions = sorted(int(mv.version) for mv in client.search_model_versions(f"name = '{name}'"))
    aliases = sorted(client.get_registered_model(name).aliases or {})
    return f"versions: {', '.join(map(str, versions))}; aliases: {', '.join(aliases) or 'none'}"


def list_versions(name: str, tracking_uri: str | None = None) -> list[VersionInfo]:
    """Every version of one registered model, newest first."""
    client, _ = get_client(tracking_uri)
    versions = client.search_model_versions(f"name = '{name}'")
    if not versions:
        raise TrackingError(f"no registered model {name!r}", hint=_known_hint(client, name))
    # search results leave aliases empty; the registered model knows them
    by_version: dict[str, list[str]] = {}
    for alias, number in (client.get_registered_model(name).aliases or {}).items():
        by_version.setdefault(str(number), []).append(alias)
    out = []
    for mv in sorted(versions, key=lambda mv: -int(mv.version)):
        info = _info(mv)
        out.append(replace(info, aliases=tuple(sorted(by_version.get(info.version, [])))))
    return out


def list_models(tracking_uri: str | None = None) -> list[tuple[str, int, dict[str, str]]]:
    """(name, number of versions, {alias: version}) of every registered model."""
    client, _ = get_client(tracking_uri)
    out = []
    for rm in client.search_registered_models(max_results=1000):
        count = len(client.search_model_versions(f"name = '{rm.name}'"))
        out.append((rm.name, count, {a: str(v) for a, v in (rm.aliases or {}).items()}))
    return sorted(out)


def promote(name: str, version: str, alias: str, *, tracking_uri: str | None = None) -> VersionInfo:
    """Point `alias` (champion or challenger) at a version; the gate, if required, runs before this."""
    if alias not in ALIASES_ALLOWED:
        raise UsageError(f"unknown alias {alias!r}", hint=f"use {' or '.join(ALIASES_ALLOWED)}")
    client, _ = get_client(tracking_uri)
    get_version(client, name, version)  # a clear error for a version that does not exist
    client.set_registered_model_alias(name, alias, str(version))
    client.set_model_version_tag(name, str(version), f"assay.promoted.{alias}", datetime.now(UTC).isoformat())
    return _info(client.get_model_version(name, str(version)))


# ------------------------------------------------------------------------------------------- resolving


def parse_registry_uri(uri: str) -> tuple[str, str | None, str | None]:
    """`models:/Name@alias` -> (Name, None, alias); `models:/Name/3` -> (Name, "3", None)."""
    match = _URI.match(uri)
    if not match:
        raise UsageError(f"{uri!r} is not a registry URI", hint="use models:/Name@alias or models:/Name/3")
    return match["name"], match["version"], match["alias"]


def resolve_registry_uri(spec: ModelSpec) -> ModelSpec:
    """The ModelSpec a `models:/` URI names: the registered backend and args, its files checked by fingerprint.

    A stored version loads from the verified local copy of its files (downloaded from the tracking server's
    artifact store on first use); a reference-only version from the folder or alias it names.
    `spec.args` may carry `tracking_uri` (else MLFLOW_TRACKING_URI or ./mlflow.db); other args override the
    registered ones. The display name is `Name-v<version>` unless the spec names it.
    """
    name, version, alias = parse_registry_uri(spec.model)
    args = dict(spec.args)
    require_store(args.get("tracking_uri"))  # resolving a URI never creates a store
    client, _ = get_client(args.pop("tracking_uri", None))
    mv = get_version(client, name, version, alias)
    tags = dict(mv.tags or {})
    if "assay.model" not in tags:
        raise TrackingError(f"{spec.model} was not registered by assay (no assay.model tag)")
    registered_args = json.loads(tags.get("assay.args") or "{}")
    if tags.get("assay.storage") == "artifact":
        from assay.tracking.model_artifacts import fetch_model_files, located_args

        folder = fetch_model_files(client, mv, tags)
        registered_args = located_args(tags["assay.model"], registered_args, folder)
    else:
        _check_reference(name, mv.version, tags)
    return ModelSpec(
        name=spec.name or f"{name}-v{mv.version}", model=tags["assay.model"], args={**registered_args, **args}
    )


def _check_reference(name: str, version: str, tags: dict[str, str]) -> None:
    """A reference-only version's files, where they still are, must be the ones registered."""
    path = Path(tags.get("assay.path", ""))
    # the files digest; a version registered before it was tagged has it as assay.fingerprint
    expected = tags.get("assay.files_fingerprint") or tags.get("assay.fingerprint", "")
    if expected and path.exists() and not matches(path, expected):
        raise TrackingError(
            f"the files of {name} version {version} at {path} changed since it was registered",
            hint="register the changed checkpoint as a new version",
        )
