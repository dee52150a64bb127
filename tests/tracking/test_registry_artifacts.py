"""Stored registry versions on a real embedded MLflow store: the files travel with the version.

"Another machine" is the same store seen with the original files gone and an empty ASSAY_CACHE (the
conftest gives each test its own). The round trip with a real server and SmolLM2 is in
test_registry_roundtrip.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.errors import TrackingError
from assay.tracking import model_registry as registry
from assay.tracking.model_artifacts import registry_cache
from tests.conftest import assay_cmd
from tests.tracking.test_registry import make_checkpoint


def _stored_file(name: str, version: registry.VersionInfo | None = None) -> Path:
    """A file of a stored version in the embedded store's artifact folder."""
    under = f"{version.tags['assay.artifact']}/" if version else ""
    (path,) = (p for p in Path("mlartifacts").rglob(name) if p.as_posix().endswith(f"{under}files/{name}"))
    return path


def test_stored_version_downloads_verifies_and_reuses(tmp_path: Path, store: str) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt")
    original = {p.name: p.read_bytes() for p in ckpt.iterdir()}
    info = registry.register_model("TinyChat", str(ckpt))
    assert info.tags["assay.storage"] == "artifact" and info.tags["assay.files"] == "2"
    assert info.source == f"runs:/{info.run_id}/{info.tags['assay.artifact']}"
    assert _stored_file("model.safetensors").read_bytes() == original["model.safetensors"]
    shutil.rmtree(ckpt)  # the other machine never had them

    spec = registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1", args={"dtype": "float32"}))
    folder = Path(spec.args["pretrained"])
    assert spec.model == "hf" and spec.args["dtype"] == "float32" and spec.name == "TinyChat-v1"
    assert folder.parent.parent == registry_cache()
    assert {p.name: p.read_bytes() for p in folder.iterdir() if not p.name.startswith(".")} == original

    shutil.rmtree("mlartifacts")  # the second use reads the verified cache, not the server
    again = registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1"))
    assert again.args["pretrained"] == str(folder)


def test_a_changed_cache_copy_is_downloaded_again(tmp_path: Path, store: str) -> None:
    ckpt = make_checkpoint(tmp_path / "ckpt")
    registry.register_model("TinyChat", str(ckpt))
    folder = Path(registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1")).args["pretrained"])
    (folder / "model.safetensors").write_bytes(b"\0" * 4096)
    registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1"))
    assert (folder / "model.safetensors").read_bytes() == (ckpt / "model.safetensors").read_bytes()


def test_a_gguf_file_is_stored_as_is(tmp_path: Path, store: str) -> None:
    gguf = tmp_path / "tiny.Q4.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    info = registry.register_model("TinyGguf", str(gguf))
    assert info.tags["assay.files"] == "1"
    spec = registry.resolve_registry_uri(ModelSpec(model="models:/TinyGguf/1"))
    assert spec.args["gguf_file"] == "tiny.Q4.gguf"
    assert (Path(spec.args["pretrained"]) / "tiny.Q4.gguf").read_bytes() == gguf.read_bytes()


def test_corrupted_or_missing_artifacts_are_refused(tmp_path: Path, store: str) -> None:
    v1 = registry.register_model("TinyChat", str(make_checkpoint(tmp_path / "a")))
    v2 = registry.register_model("TinyChat", str(make_checkpoint(tmp_path / "b", seed=1)))
    stored = [_stored_file("model.safetensors", v) for v in (v1, v2)]
    data = bytearray(stored[0].read_bytes())
    data[100] ^= 0xFF  # one flipped byte, same size
    stored[0].write_bytes(bytes(data))
    shutil.rmtree(stored[1].parent)
    with pytest.raises(TrackingError, match="do not match its fingerprint"):
        registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1"))
    with pytest.raises(TrackingError, match="missing from the tracking server's artifact store"):
        registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/2"))
    left = sorted(p.name for p in registry_cache().rglob("*") if not p.name.endswith(".lock"))
    assert left == ["TinyChat"]  # no half download and no unverified copy


def test_cli_run_on_a_corrupted_version_is_one_line_exit_2(tmp_path: Path, store: str) -> None:
    registry.register_model("TinyChat", str(make_checkpoint(tmp_path / "a")))
    stored = _stored_file("model.safetensors")
    stored.write_bytes(stored.read_bytes()[:-1] + b"\1")
    done = subprocess.run(
        assay_cmd("run", "--model", "models:/TinyChat/1", "--tasks", "arc_easy", "--limit", "1",
                  "--output", "runs"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "do not match its fingerprint" in done.stderr and "Traceback" not in done.stderr
    assert not Path("runs").exists() or not any(Path("runs").iterdir())
