"""A registered version's files in the tracking server's artifact store, and their verified local copy.

Registering a model (unless `--reference-only`) uploads its files as they are, byte for byte: an HF folder's
config, tokenizer and weights, or one GGUF file. They go into the MLflow run as a plain artifact folder
(MLflow's transformers flavor re-saves weights, so it is not used):

    registered_model/<Name>/<fingerprint>/files/...            the model's files
    registered_model/<Name>/<fingerprint>/model_card.json      what was registered, with each file's sha256

The version's tag `assay.files_fingerprint` is the fingerprint of the files as logged. Resolving the version
on a machine that lacks them downloads `files/` into `<ASSAY_CACHE>/registry/<Name>/v<version>-<fingerprint>/`
and checks that fingerprint before the download is renamed into place: a cache folder is complete and
verified, or absent.
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

from assay.errors import TrackingError
from assay.models.identity import file_sha256, fingerprint, model_files

if TYPE_CHECKING:
    from mlflow import MlflowClient

ARTIFACT_ROOT = "registered_model"


@dataclass(frozen=True)
class LoggedFiles:
    """Where a version's files went: the artifact folder in the run, their fingerprint, count and size."""

    artifact_path: str
    files_fingerprint: str
    count: int
    size: int


def _short(fingerprint: str) -> str:
    return fingerprint.split(":")[-1][:16]


def log_model_files(client: MlflowClient, run_id: str, name: str, source: Path, card: dict[str, Any]) -> LoggedFiles:
    """Upload the model's files (a folder's model files, or one file) and a model card into the run."""
    files = model_files(source)
    root = source if source.is_dir() else source.parent
    rels = [f.relative_to(root).as_posix() for f in files]
    digest = fingerprint(source)
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

    A cached copy whose files changed since (the backend fingerprint, memoized by size and mtime, differs)
    is downloaded again.
    """
    from assay.runs.layout import safe_name

    expected = tags.get("assay.files_fingerprint", "")
    dest = registry_cache() / safe_name(mv.name) / f"v{mv.version}-{_short(expected)}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock", timeout=3600):
        if dest.is_dir():
            if _still_intact(dest, tags):
                return dest
            shutil.rmtree(dest)
        _download_verified(client, mv, tags, dest)
    return dest


def model_path_in(folder: Path, args: dict[str, Any]) -> Path:
    """The path the backend fingerprints: the GGUF file when one is named, else the folder."""
    gguf = args.get("gguf_file")
    return folder / str(gguf) if gguf else folder


def _still_intact(dest: Path, tags: dict[str, str]) -> bool:
    args = json.loads(tags.get("assay.args") or "{}")
    path = model_path_in(dest, args)
    if not path.exists():
        return False
    return fingerprint(Path(path)) == tags.get("assay.fingerprint")


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
        actual = fingerprint(got)
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
