"""The one model identity: its named parts per backend, a GGUF hashed alone however it is given, and run
records written before the files digest existed still load."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.models.backends import local_files_digest
from assay.models.identity import files_digest, identify
from assay.records import ModelInfo, RunRecord


def _gguf(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "tiny.gguf"
    path.write_bytes(b"GGUF" + bytes(range(256)) * 16)
    return path


def test_hf_folder_fingerprint_is_its_files_digest(tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text('{"hidden_size": 8}')
    (ckpt / "model.safetensors").write_bytes(b"\1" * 2048)
    identity = identify("hf", {"pretrained": str(ckpt), "dtype": "bfloat16"})
    assert identity.fingerprint == identity.files_digest == files_digest(ckpt)
    assert (identity.backend, identity.precision, identity.version) == ("hf", "", "")
    with pytest.raises(FrozenInstanceError):
        identity.fingerprint = "x"  # type: ignore[misc]


def test_a_gguf_is_hashed_alone_however_it_is_given(tmp_path: Path) -> None:
    gguf = _gguf(tmp_path / "pkg")
    (tmp_path / "pkg" / "__init__.py").write_text("# a package shipping the GGUF\n")
    by_hf = identify("hf", {"pretrained": str(tmp_path / "pkg"), "gguf_file": gguf.name})
    native = identify("llamacpp", {"path": str(gguf)})
    f32 = identify("llamacpp", {"path": str(gguf), "precision": "f32"})
    assert by_hf.files_digest == native.files_digest == f32.files_digest == files_digest(gguf)
    assert by_hf.fingerprint == files_digest(gguf)  # before: the folder's digest, __init__.py included
    assert native.fingerprint != f32.fingerprint and native.precision == "native" and f32.precision == "f32"
    assert native.fingerprint != native.files_digest  # two parts, two names
    (tmp_path / "pkg" / "__init__.py").write_text("# changed\n")
    assert identify("hf", {"pretrained": str(tmp_path / "pkg"), "gguf_file": gguf.name}) == by_hf


def test_what_cannot_be_identified_from_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="identifies its model when it loads"):
        identify("openai-chat", {"model": "x"})
    with pytest.raises(UsageError, match="no GGUF file"):
        identify("llamacpp", {"path": str(tmp_path / "missing.gguf")})
    with pytest.raises(UsageError, match="no model folder"):
        identify("hf", {"pretrained": str(_gguf(tmp_path))})  # a file is not a folder
    assert local_files_digest("hf", {"pretrained": str(tmp_path / "not-here")}) == ""  # e.g. a Ray driver
    assert local_files_digest("openai-chat", {"model": "x"}) == ""


def test_a_summary_written_before_the_files_digest_still_loads() -> None:
    old = {"name": "m", "backend": "hf", "args": {}, "fingerprint": "files-sha256-v2:ab", "version": ""}
    record = RunRecord.from_json(
        {"schema_version": 2, "run_id": "r", "created": "2026-11-23T12:00:00+00:00", "config": {},
         "models": [old], "results": [], "environment": {}}
    )  # fmt: skip
    assert record.models == (ModelInfo(name="m", backend="hf", args={}, fingerprint="files-sha256-v2:ab"),)
    assert record.models[0].files_digest == ""
    again = RunRecord.from_json(record.to_json())
    assert again == record and record.to_json()["models"][0]["files_digest"] == ""
