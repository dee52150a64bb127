"""The registry workflow against a real embedded MLflow store, reference-only versions (the files stay where they
are; stored versions are in test_registry_artifacts.py, the server case in test_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result

from assay.config import ModelSpec
from assay.errors import TrackingError, UsageError
from assay.tracking import model_registry as registry
from tests.tracking.runfolders import write_run


def make_checkpoint(root: Path, seed: int = 0) -> Path:
    """A folder shaped like an HF checkpoint (the registry hashes it, it never loads it)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text('{"model_type": "llama", "hidden_size": 8}')
    (root / "model.safetensors").write_bytes(bytes((i * 7 + seed) % 256 for i in range(4096)))
    return root


def test_register_promote_resolve(tmp_path: Path, store: str) -> None:
    ckpt_a, ckpt_b = make_checkpoint(tmp_path / "a"), make_checkpoint(tmp_path / "b", seed=1)
    run_dir = write_run(tmp_path / "runs", n=10, accuracy=0.7)
    v1 = registry.register_model("InstructionFollower", str(ckpt_a), run=run_dir, reference_only=True)
    v2 = registry.register_model("InstructionFollower", str(ckpt_b), reference_only=True)
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.benchmarks["arc_easy/acc"] == "0.7"
    assert v1.tags["assay.run_id"] == run_dir.name
    assert v1.warnings  # the fake run recorded another fingerprint: said, not hidden
    assert v1.tags["assay.fingerprint"] != v2.tags["assay.fingerprint"]
    assert v1.run_id and v1.source == f"runs:/{v1.run_id}/model_card/InstructionFollower"
    registry.promote("InstructionFollower", "1", "champion")
    registry.promote("InstructionFollower", "2", "challenger")
    champion = registry.resolve_registry_uri(ModelSpec(model="models:/InstructionFollower@champion"))
    assert champion == ModelSpec(name="InstructionFollower-v1", model="hf", args={"pretrained": str(ckpt_a)})
    by_number = registry.resolve_registry_uri(
        ModelSpec(model="models:/InstructionFollower/2", args={"dtype": "x"})
    )
    assert by_number.args == {"pretrained": str(ckpt_b), "dtype": "x"}
    assert registry.list_models() == [("InstructionFollower", 2, {"champion": "1", "challenger": "2"})]
    shown = registry.list_versions("InstructionFollower")
    assert [(v.version, v.aliases) for v in shown] == [("2", ("challenger",)), ("1", ("champion",))]


def test_the_runner_resolves_registry_uris(tmp_path: Path, store: str) -> None:
    from assay.models.backends import resolve_spec
    from assay.runner import concrete_spec

    ckpt = make_checkpoint(tmp_path / "a")
    registry.register_model("TinyChat", str(ckpt), reference_only=True)
    registry.promote("TinyChat", "1", "champion")
    backend, args, name = resolve_spec(concrete_spec(ModelSpec(model="models:/TinyChat@champion")))
    assert (backend, args["pretrained"], name) == ("hf", str(ckpt), "TinyChat-v1")


def test_changed_files_and_bad_names_are_refused(tmp_path: Path, store: str) -> None:
    ckpt = make_checkpoint(tmp_path / "a")
    registry.register_model("TinyChat", str(ckpt), reference_only=True)
    with pytest.raises(UsageError, match="PascalCase"):
        registry.register_model("tiny-chat", str(ckpt), reference_only=True)
    with pytest.raises(TrackingError, match="no alias champion"):
        registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat@champion"))
    with pytest.raises(TrackingError, match="versions: 1"):
        registry.promote("TinyChat", "7", "champion")
    with pytest.raises(UsageError, match="unknown alias"):
        registry.promote("TinyChat", "1", "production")
    (ckpt / "model.safetensors").write_bytes(b"\0" * 4096)
    with pytest.raises(TrackingError, match="changed since it was registered"):
        registry.resolve_registry_uri(ModelSpec(model="models:/TinyChat/1"))


def test_cli_register_promote_list_show(tmp_path: Path, store: str) -> None:
    from typer.testing import CliRunner

    from assay.cli.main import app

    ckpt = make_checkpoint(tmp_path / "ckpt")
    run_dir = write_run(tmp_path / "runs", n=10, accuracy=0.6)
    runner = CliRunner()

    def assay(*args: str) -> Result:
        return runner.invoke(app, ["registry", *args], env={"COLUMNS": "250"})

    done = assay("register", "InstructionFollower", "--model", str(ckpt), "--run", str(run_dir))
    assert done.exit_code == 0, done.output
    assert "registered InstructionFollower version 1" in done.stdout
    assert "logged 2 files" in done.stdout  # the default stores the files (test_registry_artifacts.py)
    assert assay("promote", "InstructionFollower", "1", "--alias", "champion").exit_code == 0
    listed = assay("list")
    assert "InstructionFollower" in listed.stdout and "@champion -> v1" in listed.stdout
    shown = assay("show", "InstructionFollower")
    assert "arc_easy/acc=0.6" in shown.stdout and run_dir.name in shown.stdout
    bad = assay("register", "instruction_follower", "--model", str(ckpt))
    assert isinstance(bad.exception, UsageError) and "InstructionFollower" in str(bad.exception)
