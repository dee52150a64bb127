"""Model fingerprints: stable under copies, sensitive to any weight or config byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.models.identity import files_digest as model_fingerprint
from assay.models.identity import matches


def _checkpoint(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "config.json").write_text('{"hidden_size": 8}')
    (root / "model.safetensors").write_bytes(bytes(range(256)) * 64)
    (root / "README.md").write_text("docs are not the model")
    return root


def test_copy_has_same_fingerprint_and_docs_do_not_count(tmp_path: Path) -> None:
    a = _checkpoint(tmp_path / "a")
    b = tmp_path / "b"
    shutil.copytree(a, b)
    (b / "README.md").write_text("changed docs")
    assert model_fingerprint(a) == model_fingerprint(b)
    assert model_fingerprint(a).startswith("files-sha256-v2:") and len(model_fingerprint(a)) == 16 + 64


def test_one_changed_weight_byte_or_config_changes_it(tmp_path: Path) -> None:
    a = _checkpoint(tmp_path / "a")
    before = model_fingerprint(a)
    data = bytearray((a / "model.safetensors").read_bytes())
    data[1000] ^= 1
    (a / "model.safetensors").write_bytes(bytes(data))
    after_weight = model_fingerprint(a)
    (a / "config.json").write_text('{"hidden_size": 9}')
    assert len({before, after_weight, model_fingerprint(a)}) == 3


def test_single_file_and_missing_path(tmp_path: Path) -> None:
    a = _checkpoint(tmp_path / "a")
    assert model_fingerprint(a / "model.safetensors") != model_fingerprint(a)
    with pytest.raises(UsageError):
        model_fingerprint(tmp_path / "nope")


def test_legacy_digests_are_verified_with_their_own_algorithm(tmp_path: Path) -> None:
    import hashlib

    a = _checkpoint(tmp_path / "a")
    legacy_hf = hashlib.sha256()
    for name in ("config.json", "model.safetensors"):  # the former hf hash: top-level files, name + content
        legacy_hf.update(name.encode() + b"\0" + (a / name).read_bytes())
    assert matches(a, "sha256:" + legacy_hf.hexdigest())
    assert matches(a, model_fingerprint(a).split(":")[1][:16])  # the former registry digest: 16 hex
    assert matches(a, model_fingerprint(a))
    (a / "config.json").write_text('{"hidden_size": 10}')
    assert not matches(a, "sha256:" + legacy_hf.hexdigest())
    assert not matches(a, "md5:whatever")


def test_gguf_file_selects_one_of_several(tmp_path: Path) -> None:
    a = tmp_path / "g"
    a.mkdir()
    (a / "one.gguf").write_bytes(b"GGUF1")
    (a / "two.gguf").write_bytes(b"GGUF2")
    one = model_fingerprint(a, "one.gguf")
    assert one != model_fingerprint(a, "two.gguf")
    (a / "two.gguf").write_bytes(b"GGUF2 changed")  # the other file is not part of this model
    assert model_fingerprint(a, "one.gguf") == one
