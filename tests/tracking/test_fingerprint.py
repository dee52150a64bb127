"""Model fingerprints: stable under copies, sensitive to any weight or config byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.tracking.fingerprint import model_fingerprint


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
    assert len(model_fingerprint(a)) == 16


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
