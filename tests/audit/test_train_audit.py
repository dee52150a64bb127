"""`assay audit train`: a tiny numpy training script (fast), and the shipped LoRA example (real)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assay.audit.train import audit_training, compare_losses
from assay.errors import UsageError

REPO = Path(__file__).resolve().parents[2]
SCRIPT = """
import json, os, sys, time
import numpy as np
seed = int(os.environ["ASSAY_SEED"]) if "--unseeded" not in sys.argv else time.time_ns() % 2**31
rng = np.random.default_rng(seed)
out = os.environ["ASSAY_AUDIT_DIR"]
w = rng.normal(size=(4, 3))
x, y = rng.normal(size=(32, 4)), rng.normal(size=(32, 3))
with open(os.path.join(out, "loss.jsonl"), "w") as fh:
    for step in range(5):
        err = x @ w - y
        w -= 0.1 * x.T @ err / len(x)
        fh.write(json.dumps({"step": step, "loss": float((err ** 2).mean())}) + "\\n")
np.save(os.path.join(out, "w.npy"), w)
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(SCRIPT)
    return path


def test_seeded_script_reproduces(tmp_path: Path, script: Path) -> None:
    result = audit_training([sys.executable, str(script)], tmp_path / "work", seed=7)
    assert result.reproduced
    assert [(w.path, w.identical) for w in result.weights] == [("w.npy", True)]
    assert (result.loss_steps, result.loss_max_diff) == (5, 0.0)


def test_unseeded_script_fails_with_measured_differences(tmp_path: Path, script: Path) -> None:
    result = audit_training([sys.executable, str(script), "--unseeded"], tmp_path / "work")
    assert not result.reproduced
    (weights,) = result.weights
    assert not weights.identical and weights.max_abs_diff is not None and weights.max_abs_diff > 1e-3
    assert result.loss_max_diff is not None and result.loss_max_diff > 0


def test_failing_command_and_bad_loss_file_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="exit code 3"):
        audit_training([sys.executable, "-c", "import sys; sys.exit(3)"], tmp_path / "work")
    bad = tmp_path / "loss.jsonl"
    bad.write_text('{"step": 0}\n')
    with pytest.raises(UsageError, match="loss.jsonl:1"):
        compare_losses(bad, bad)


@pytest.mark.integration
def test_shipped_lora_example_passes_and_its_unseeded_variant_fails(tmp_path: Path) -> None:
    pytest.importorskip("peft", reason="the example fine-tunes a LoRA with peft")
    example = [sys.executable, str(REPO / "examples" / "train_tiny" / "train.py"), "--steps", "2"]
    seeded = audit_training(example, tmp_path / "seeded", seed=11)
    assert seeded.reproduced, seeded
    assert seeded.weights[0].path == "adapter.safetensors" and seeded.loss_steps == 2
    unseeded = audit_training([*example, "--unseeded"], tmp_path / "unseeded", seed=11)
    assert not unseeded.reproduced
    assert unseeded.weights[0].max_abs_diff is not None and unseeded.weights[0].max_abs_diff > 0
