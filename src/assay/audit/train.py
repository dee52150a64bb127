"""`assay audit train -- COMMAND`: is a training command reproducible?

The command runs twice, each time with the same ASSAY_SEED and its own empty ASSAY_AUDIT_DIR. It is
expected to seed itself from ASSAY_SEED and write its weights (.safetensors, .pt/.pth/.bin, .npy/.npz) and
a `loss.jsonl` (one {"step": N, "loss": X} a line) under ASSAY_AUDIT_DIR. The audit compares each weight
file by hash, then by the maximum absolute difference of its tensors, and the two loss curves step by step.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import UsageError
from assay.models.identity import file_sha256

WEIGHT_SUFFIXES = {".safetensors", ".pt", ".pth", ".bin", ".npy", ".npz"}
LOSS_FILE = "loss.jsonl"


@dataclass(frozen=True)
class WeightComparison:
    """One weight file in both runs."""

    path: str
    identical: bool  # same bytes
    max_abs_diff: (
        float | None
    )  # over all tensors; None when the file is missing or the tensors do not match up
    note: str = ""


@dataclass(frozen=True)
class TrainAudit:
    """The verdict and what it rests on."""

    seed: int
    tolerance: float
    dirs: tuple[Path, Path]
    weights: tuple[WeightComparison, ...]
    loss_steps: int
    loss_max_diff: float | None
    loss_note: str

    @property
    def reproduced(self) -> bool:
        weights_ok = bool(self.weights) and all(
            w.identical or (w.max_abs_diff is not None and w.max_abs_diff <= self.tolerance)
            for w in self.weights
        )
        loss_ok = (
            self.loss_max_diff is not None and self.loss_max_diff <= self.tolerance and not self.loss_note
        )
        return weights_ok and loss_ok


def run_once(command: list[str], audit_dir: Path, seed: int, timeout: float | None = None) -> None:
    """Run the command with ASSAY_SEED and ASSAY_AUDIT_DIR set; its output goes to `<audit_dir>.log`."""
    audit_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "ASSAY_SEED": str(seed), "ASSAY_AUDIT_DIR": str(audit_dir.resolve())}
    log = audit_dir.parent / f"{audit_dir.name}.log"
    try:
        with log.open("wb") as fh:
            done = subprocess.run(command, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
    except FileNotFoundError as exc:
        raise UsageError(f"cannot run {command[0]!r}: not found", hint="give the command after `--`") from exc
    if done.returncode != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        raise UsageError(
            f"the training command failed with exit code {done.returncode}: {tail}", hint=f"see {log}"
        )


def audit_training(
    command: list[str], workdir: Path, seed: int = 1234, tolerance: float = 0.0, timeout: float | None = None
) -> TrainAudit:
    """Run `command` twice with one seed in separate folders under `workdir`; compare what it wrote."""
    if not command:
        raise UsageError("no training command given", hint="assay audit train -- python train.py ...")
    dirs = (workdir / "run1", workdir / "run2")
    for d in dirs:
        if d.exists() and any(d.iterdir()):
            raise UsageError(f"{d} is not empty", hint="give --workdir a new folder")
        run_once(command, d, seed, timeout)
    weights = compare_weights(*dirs)
    steps, loss_diff, loss_note = compare_losses(dirs[0] / LOSS_FILE, dirs[1] / LOSS_FILE)
    return TrainAudit(seed, tolerance, dirs, tuple(weights), steps, loss_diff, loss_note)


def compare_weights(a: Path, b: Path) -> list[WeightComparison]:
    """Every weight file of either run: same bytes, else the largest absolute difference of its tensors."""
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.suffix in WEIGHT_SUFFIXES}
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.suffix in WEIGHT_SUFFIXES}
    out = []
    for rel in sorted(files_a | files_b):
        if rel not in files_a or rel not in files_b:
            out.append(
                WeightComparison(rel, False, None, f"written by run {1 if rel in files_a else 2} only")
            )
            continue
        if file_sha256(a / rel) == file_sha256(b / rel):
            out.append(WeightComparison(rel, True, 0.0))
            continue
        tensors_a, tensors_b = load_tensors(a / rel), load_tensors(b / rel)
        if tensors_a.keys() != tensors_b.keys():
            out.append(WeightComparison(rel, False, None, "different tensor names"))
            continue
        worst = 0.0
        for key, x in tensors_a.items():
            y = tensors_b[key]
            if x.shape != y.shape:
                out.append(WeightComparison(rel, False, None, f"{key}: shape {x.shape} vs {y.shape}"))
                break
            if x.size:
                worst = max(worst, float(np.max(np.abs(x.astype(np.float64) - y.astype(np.float64)))))
        else:
            out.append(WeightComparison(rel, False, worst))
    return out


def load_tensors(path: Path) -> dict[str, np.ndarray]:
    """The named arrays of a weight file (safetensors, torch state dict, numpy)."""
    if path.suffix == ".safetensors":
        from safetensors.numpy import load_file

        try:
            return dict(load_file(str(path)))
        except Exception:  # bf16 and friends have no numpy dtype: go through torch
            from safetensors.torch import load_file as load_torch

            return {k: v.float().numpy() for k, v in load_torch(str(path)).items()}
    if path.suffix == ".npy":
        return {"": np.load(path)}
    if path.suffix == ".npz":
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    import torch

    state: Any = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, torch.Tensor):
        state = {"": state}
    return {k: v.detach().float().numpy() for k, v in state.items() if isinstance(v, torch.Tensor)}


def compare_losses(a: Path, b: Path) -> tuple[int, float | None, str]:
    """(steps compared, largest |loss difference|, problem) for two loss.jsonl files."""
    if not a.exists() or not b.exists():
        return 0, None, f"{LOSS_FILE} missing in {'run1' if not a.exists() else 'run2'}"
    curve_a, curve_b = _curve(a), _curve(b)
    if [s for s, _ in curve_a] != [s for s, _ in curve_b]:
        return (
            min(len(curve_a), len(curve_b)),
            None,
            f"different steps ({len(curve_a)} vs {len(curve_b)} rows)",
        )
    if not curve_a:
        return 0, None, f"{LOSS_FILE} is empty"
    diffs = [abs(x - y) for (_, x), (_, y) in zip(curve_a, curve_b, strict=True)]
    return len(diffs), max(diffs), ""


def _curve(path: Path) -> list[tuple[int, float]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            rows.append((int(row["step"]), float(row["loss"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f'{path}:{number}: not a {{"step": N, "loss": X}} row') from exc
    return rows
