"""Model fingerprints: a hash of the weight and config files that make a checkpoint what it is.

A fingerprint changes when any weight, config or tokenizer file changes, and not when the folder is moved,
copied or its timestamps change. It names files by their path relative to the checkpoint, so two copies of the
same checkpoint agree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from assay.errors import UsageError

# Files that are documentation or bookkeeping, not part of the model.
_SKIP_SUFFIXES = {".md", ".lock", ".tmp", ".partial"}
_SKIP_NAMES = {"README", "LICENSE", "NOTICE", ".gitattributes"}
_CHUNK = 1 << 20


def model_files(path: Path) -> list[Path]:
    """The files that define a checkpoint (a single file, or every model file under a folder), sorted."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(
            f"no model file or folder at {path}", hint="give a checkpoint folder, a weights file or an alias"
        )
    files = []
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = file.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if file.suffix in _SKIP_SUFFIXES or file.stem in _SKIP_NAMES or file.name in _SKIP_NAMES:
            continue
        files.append(file)
    if not files:
        raise UsageError(
            f"{path} holds no model files", hint="a checkpoint folder has config and weight files"
        )
    return files


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def model_fingerprint(path: str | Path, length: int = 16) -> str:
    """Hash of a checkpoint: sha256 over (relative path, file sha256) of every model file, truncated."""
    root = Path(path)
    outer = hashlib.sha256()
    for file in model_files(root):
        rel = file.name if root.is_file() else file.relative_to(root).as_posix()
        outer.update(rel.encode("utf-8") + b"\0" + file_sha256(file).encode("ascii") + b"\n")
    return outer.hexdigest()[:length]


def backend_fingerprint(backend: str, path: str | Path) -> str:
    """The fingerprint a run records for this checkpoint: the hf backend's own for HF folders, else ours.

    Registry checks compare against what runs recorded (ModelInfo.fingerprint), so both must use one function.
    """
    folder = Path(path)
    if backend == "hf" and folder.is_dir():
        from assay.models.hf import fingerprint_folder

        return fingerprint_folder(folder)
    return model_fingerprint(folder)
