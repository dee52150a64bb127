"""A registered version's files in the tracking server's artifact store, and their verified local copy.

Registering a model (unless `--reference-only`) uploads its files as they are, byte for byte: an HF folder's
config, tokenizer and weights, or one GGUF file. They go into the MLflow run as a plain artifact folder
(MLflow's transformers flavor re-saves weights, so it is not used):

    registered_model/<Name>/<fingerprint>/files/...            the model's files
    registered_model/<Name>/<fingerprint>/model_card.json      what was registered, with each file's sha256

The version's tag `assay.files_fingerprint` is the files digest of the files as logged (assay.models.identity;
the tag keeps its first name so that versions registered before still resolve). Resolving the version on a
machine that lacks them downloads `files/` into `<ASSAY_CACHE>/registry/<Name>/v<version>-<digest>/` and checks
that digest before the download is renamed into place: a cache folder is complete and verified, or absent.
Files are compared with files: the backend's fingerprint (`assay.fingerprint`, which for llamacpp also covers
its precision) is never compared with a files digest.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock

from assay.errors import TrackingError, UsageError
from assay.models.identity import file_sha256, files_digest, model_files

if TYPE_CHECKING:
    from mlflow import MlflowClient

ARTIFACT_ROOT = "registered_model"


@dataclass(frozen=True)
class LoggedFiles:
    """Where a version's files went: the artifact folder in the run, their files digest, count and size."""

    artifact_path: str
    files_fingerprint: str
    count: int
    size: int


def _short(digest: str) -> str:
    return digest.split(":")[-1][:16]


def log_model_files(client: MlflowClient, run_id: str, name: str, source: Path, card: dict[str, Any]) -> LoggedFiles:
    """Upload the model's files (a folder's model files, or one file) and a model card into the run."""
    files = model_files(source)
    root = source if source.is_dir() else source.parent
    rels = [f.relative_to(root).as_posix() for f in files]
    digest = files_digest(source)
    base = f"{ARTIFACT_ROOT}/{name}/{_short(digest)}"
    for file, rel in zip(files, rels, strict=True):
        parent = Path(rel).parent.as_posix()
        client.log_artifact(run_id, str(file), f"{base}/files" + ("" if parent == "." else f"/{parent}"))
    manifest = {rel: file_sha256(f) for f, rel in zip(files, rels, strict=True)}
    full_card = {**card, "files_fingerprint": digest, "files": manifest}
    with tempfile.TemporaryDirectory(prefix="assay-card-") as tmp:
        path = Path(tmp) / "model_card.json"
        path.write_text(json.dumps(full_card, indent=2, sort_keys=True), encoding="utf-8")
        client.log_artifact(run_id, str(path), base)
    return LoggedFiles(base, digest, len(files), sum(f.stat().st_size for f in files))


def registry_cache() -> Path:
    """Downloaded registry versions live under the assay cache (ASSAY_CACHE, else the user cache folder)."""
    from assay.models.aliases import cache_root

    return cache_root() / "registry"


def fetch_model_files(client: MlflowClient, mv: Any, tags: dict[str, str]) -> Path:
    """The local folder holding a stored version's files: the verified cache copy, downloaded if needed.

    A cached copy whose files changed since (their files digest, memoized by size and mtime, differs from the
    one logged) is downloaded again.
    """
    from assay.runs.layout import safe_name

    expected = tags.get("assay.files_fingerprint", "")
    dest = registry_cache() / safe_name(mv.name) / f"v{mv.version}-{_short(expected)}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock", timeout=3600):
        if dest.is_dir():
            if _still_intact(dest, expected):
                return dest
            shutil.rmtree(dest)
        _download_verified(client, mv, tags, dest)
    return dest


def located_args(backend: str, args: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The args that load a version's files from `folder`: hf's `pretrained` is the folder, llamacpp's `path`
    the GGUF file in it (registered by its name)."""
    if backend == "llamacpp":
        return {**args, "path": str(folder / Path(str(args.get("path") or "")).name)}
    return {**args, "pretrained": str(folder)}


def portable_args(backend: str, args: dict[str, Any]) -> dict[str, Any]:
    """The args of a stored version, without where its files were: `located_args` puts the cache copy back."""
    out = dict(args)
    out.pop("pretrained", None)
    if backend == "llamacpp" and out.get("path"):
        out["path"] = Path(str(out["path"])).name
    return out


def _still_intact(dest: Path, expected: str) -> bool:
    try:
        return files_digest(dest) == expected
    except UsageError:  # emptied meanwhile
        return False


def _download_verified(client: MlflowClient, mv: Any, tags: dict[str, str], dest: Path) -> None:
    from mlflow.exceptions import MlflowException

    label = f"{mv.name} version {mv.version}"
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # errors stay one line
    size = int(tags.get("assay.size_bytes") or 0) / 1e6
    print(f"downloading {label} ({size:.1f} MB) into {dest}", file=sys.stderr)
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        try:
            got = Path(client.download_artifacts(mv.run_id, tags["assay.artifact"] + "/files", str(tmp)))
        except (MlflowException, OSError) as exc:
            raise _missing(label, type(exc).__name__) from exc
        if not got.is_dir() or not any(p.is_file() for p in got.rglob("*")):
            raise _missing(label, "no files")
        actual = files_digest(got)
        if actual != tags.get("assay.files_fingerprint"):
            raise TrackingError(
                f"the files of {label} downloaded from the tracking server do not match its fingerprint "
                f"(registered {tags.get('assay.files_fingerprint')}, downloaded {actual})",
                hint="the artifact store copy is corrupted: register the model again as a new version",
            )
        os.replace(got, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _missing(label: str, why: str) -> TrackingError:
    return TrackingError(
        f"the files of {label} are missing from the tracking server's artifact store ({why})",
        hint="register the model again as a new version (or use --reference-only where the files are)",
    )
