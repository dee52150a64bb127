"""Model identity: one fingerprint algorithm for model files, named next to its digest.

    fingerprint(Path("ckpt/"))        -> "files-sha256-v2:<64 hex>"
    matches(Path("ckpt/"), recorded)  -> True when the files are those a run or registry version recorded

The digest is sha256 over (path relative to the checkpoint, sha256 of the file) of every model file, so it
changes when any weight, config or tokenizer file changes, and not when the folder is moved, copied or touched.
Documentation, lock files and hidden files (the memo below) are not part of a model. `gguf_file` limits a
folder holding several GGUF files to the one loaded.

Digests recorded before this algorithm (registry versions, old runs) are verified with the algorithm that made
them: `sha256:<hex>` (the hf backend's former folder hash) and 16 bare hex digits (the registry's former one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from pathlib import Path

from assay.errors import UsageError

ALGORITHM = "files-sha256-v2"
_SKIP_SUFFIXES = {".md", ".lock", ".tmp", ".partial"}
_SKIP_NAMES = {"README", "LICENSE", "NOTICE", ".gitattributes"}
_CHUNK = 1 << 20
_MEMO = ".assay-fingerprint"


def model_files(path: Path, gguf_file: str | None = None) -> list[Path]:
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
        if gguf_file and file.suffix == ".gguf" and rel.as_posix() != gguf_file:
            continue
        files.append(file)
    if not files:
        raise UsageError(f"{path} holds no model files", hint="a checkpoint folder has config and weight files")
    return files


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(path: Path, gguf_file: str | None = None) -> str:
    """`files-sha256-v2:<hex>` of a checkpoint; a folder remembers it until a file's size or mtime changes."""
    files = model_files(path, gguf_file)
    root = path if path.is_dir() else None
    stamp = _stamp(files, gguf_file)
    memo = root / _MEMO if root else None
    if memo is not None:
        with contextlib.suppress(OSError, ValueError, KeyError):
            saved = json.loads(memo.read_text())
            if saved["stamp"] == stamp and str(saved["fingerprint"]).startswith(ALGORITHM + ":"):
                return str(saved["fingerprint"])
    outer = hashlib.sha256()
    for file in files:
        rel = file.name if root is None else file.relative_to(root).as_posix()
        outer.update(rel.encode("utf-8") + b"\0" + file_sha256(file).encode("ascii") + b"\n")
    value = f"{ALGORITHM}:{outer.hexdigest()}"
    if memo is not None:
        with contextlib.suppress(OSError):  # a read-only model folder just recomputes next time
            memo.write_text(json.dumps({"stamp": stamp, "fingerprint": value}))
    return value


def _stamp(files: list[Path], gguf_file: str | None) -> str:
    listing = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps([gguf_file, listing]).encode()).hexdigest()


def matches(path: Path, recorded: str, gguf_file: str | None = None) -> bool:
    """Whether the files at `path` are the ones `recorded` names, by the algorithm that recorded it."""
    if recorded.startswith(ALGORITHM + ":"):
        return fingerprint(path, gguf_file) == recorded
    if recorded.startswith("sha256:"):
        return _legacy_hf_folder(path, gguf_file) == recorded
    if re.fullmatch(r"[0-9a-f]{16}", recorded):
        return fingerprint(path, gguf_file).split(":", 1)[1][:16] == recorded
    return False


_LEGACY_HF_SUFFIXES = {".safetensors", ".bin", ".json", ".model", ".jinja", ".gguf", ".txt"}


def _legacy_hf_folder(folder: Path, gguf_file: str | None) -> str:
    """The hf backend's hash before v2: top-level files by suffix, name + content."""
    if not folder.is_dir():
        return ""
    names = sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix in _LEGACY_HF_SUFFIXES
        and (gguf_file is None or p.suffix != ".gguf" or p.name == gguf_file)
    )
    h = hashlib.sha256()
    for path in names:
        h.update(path.name.encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 22), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()
