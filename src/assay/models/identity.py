"""Model identity: what identifies a model, in named parts, computed in one place.

    identify("hf", {"pretrained": "ckpt/"})        -> ModelIdentity(fingerprint="files-sha256-v2:...",
                                                                     files_digest="files-sha256-v2:...")
    identify("llamacpp", {"path": "m.gguf", "precision": "f32"})
                                                    -> ModelIdentity(fingerprint="<32 hex>",
                                                                     files_digest="files-sha256-v2:...")
    files_digest(Path("ckpt/"))                     -> "files-sha256-v2:<64 hex>"
    matches(Path("ckpt/"), recorded)                -> whether the files are those a run or registry version recorded

Two names, two meanings:
- the *files digest* (`files-sha256-v2:<hex>`) is of the model files alone: sha256 over (path relative to the
  checkpoint, sha256 of the file) of every model file, so it changes when any weight, config or tokenizer file
  changes, and not when the folder is moved, copied or touched. Documentation, lock files and hidden files
  (the memo below) are not part of a model. A GGUF is a model by itself: its digest is of that one file,
  whether it is given as a path or as `gguf_file` inside a folder (transformers reads config, tokenizer and
  weights from the GGUF).
- the *fingerprint* is the backend's identity of the model as it computes: what a run records
  (`ModelInfo.fingerprint`) and keys its response cache with. hf: the files digest of a local folder, or
  `hub:<sha256 of id@commit>` for a hub id; llamacpp: a hash of the GGUF's bytes and the precision it runs
  at (`native` or `f32`). An HTTP server's model (openai backends) is identified by its server at load.

Digests recorded before this algorithm (registry versions, old runs) are verified with the algorithm that made
them: `sha256:<hex>` (the hf backend's former folder hash) and 16 bare hex digits (the registry's former one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import UsageError
from assay.records import stable_hash

ALGORITHM = "files-sha256-v2"
_SKIP_SUFFIXES = {".md", ".lock", ".tmp", ".partial"}
_SKIP_NAMES = {"README", "LICENSE", "NOTICE", ".gitattributes"}
_CHUNK = 1 << 20
_MEMO = ".assay-fingerprint"  # a folder's files digest, by its files' sizes and mtimes (the name predates v2)
_FILE_MEMO: dict[tuple[str, int, int], str] = {}  # sha256 of a file by (path, size, mtime), in this process


@dataclass(frozen=True, slots=True)
class ModelIdentity:
    """What identifies a model, in named parts (see the module docstring for the two digests)."""

    backend: str
    fingerprint: str  # the backend's identity: what runs record (ModelInfo.fingerprint) and cache keys use
    files_digest: str  # `files-sha256-v2:...` of the local files the backend loads; "" for a hub id
    precision: str = ""  # numerics that are part of the fingerprint (llamacpp: native | f32); "" for hf
    version: str = ""  # the hub commit the files came from, when known


def identify(backend: str, args: Mapping[str, Any]) -> ModelIdentity:
    """The identity of the model that `backend` loads with `args`, without loading it.

    The backends take their fingerprint from here, so a run, `assay dvc init` and the registry agree on it.
    """
    if backend == "hf":
        return _identify_hf(args)
    if backend == "llamacpp":
        return _identify_llamacpp(args)
    raise UsageError(
        f"the {backend} backend identifies its model when it loads, not from its files",
        hint="give a checkpoint folder, a GGUF file, a hub id or an alias",
    )


def local_files(backend: str, args: Mapping[str, Any]) -> Path | None:
    """The checkpoint folder or GGUF file `backend` loads with `args`, when it is on this machine."""
    if backend == "llamacpp" and args.get("path"):
        path = Path(str(args["path"])).expanduser()
    elif backend == "hf" and args.get("pretrained"):
        path = Path(str(args["pretrained"])).expanduser()
        if args.get("gguf_file"):
            path = path / str(args["gguf_file"])
    else:
        return None
    return path if path.exists() else None


def _identify_hf(args: Mapping[str, Any]) -> ModelIdentity:
    pretrained = str(args.get("pretrained") or "")
    revision = args.get("revision")
    commit = _hub_commit(pretrained, revision)
    version = str(commit or revision or "")
    path = local_files("hf", args)
    if path is not None and (path.is_dir() or args.get("gguf_file")):
        digest = files_digest(path)
        return ModelIdentity(backend="hf", fingerprint=digest, files_digest=digest, version=version)
    if args.get("gguf_file"):
        gguf = args["gguf_file"]
        raise UsageError(f"no GGUF file {gguf!r} in {pretrained!r}", hint="check pretrained= and gguf_file=")
    if not pretrained or Path(pretrained).expanduser().exists():
        raise UsageError(f"no model folder at {pretrained!r}", hint="give pretrained=FOLDER or a hub id")
    hub = "hub:" + hashlib.sha256(f"{pretrained}@{commit or revision}".encode()).hexdigest()
    return ModelIdentity(backend="hf", fingerprint=hub, files_digest="", version=version)


def _hub_commit(pretrained: str, revision: Any) -> str | None:
    """The hub commit of the model's files (a hub cache snapshot names it); None without transformers, which
    a local folder's identity does not need (the registry and DVC may run where the hf extra is not)."""
    from assay.models.hf import hub_commit

    if not pretrained:
        return None
    try:
        return hub_commit(pretrained, revision)
    except ImportError:
        return None


def _identify_llamacpp(args: Mapping[str, Any]) -> ModelIdentity:
    path = local_files("llamacpp", args)
    if path is None or not path.is_file():
        raise UsageError(f"no GGUF file at {str(args.get('path') or '')!r}", hint="give path=/path/to/model.gguf")
    precision = str(args.get("precision") or "native")
    identity = {"backend": "llamacpp", "engine": "xllamacpp", "gguf": file_sha256(path), "precision": precision}
    return ModelIdentity(
        backend="llamacpp", fingerprint=stable_hash(identity, 32), files_digest=files_digest(path), precision=precision
    )


def model_files(path: Path, gguf_file: str | None = None) -> list[Path]:
    """The files that define a checkpoint (a single file, the GGUF `gguf_file` names in a folder, or every model
    file under a folder), sorted."""
    if gguf_file:
        path = path / gguf_file  # a GGUF is a model by itself
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
        raise UsageError(f"{path} holds no model files", hint="a checkpoint folder has config and weight files")
    return files


def file_sha256(path: Path) -> str:
    """sha256 of one file's bytes, read in chunks; remembered in this process until its size or mtime changes."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_MEMO:
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        _FILE_MEMO[key] = digest.hexdigest()
    return _FILE_MEMO[key]


def files_digest(path: Path, gguf_file: str | None = None) -> str:
    """`files-sha256-v2:<hex>` of a checkpoint; a folder remembers it until a file's size or mtime changes."""
    files = model_files(path, gguf_file)
    root = path if path.is_dir() and not gguf_file else None
    stamp = _stamp(files)
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


def _stamp(files: list[Path]) -> str:
    listing = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    return hashlib.sha256(json.dumps([None, listing]).encode()).hexdigest()  # the memos written so far start so


def matches(path: Path, recorded: str, gguf_file: str | None = None) -> bool:
    """Whether the files at `path` are the ones `recorded` names, by the algorithm that recorded it."""
    if recorded.startswith(ALGORITHM + ":"):
        return files_digest(path, gguf_file) == recorded
    if recorded.startswith("sha256:"):
        return _legacy_hf_folder(path, gguf_file) == recorded
    if re.fullmatch(r"[0-9a-f]{16}", recorded):
        return files_digest(path, gguf_file).split(":", 1)[1][:16] == recorded
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
