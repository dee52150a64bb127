"""The gate on a real model (SmolLM2-135M) and real benchmark rows, through the real runner.

- an unchanged model passes;
- a deliberately degraded checkpoint (Gaussian noise added to every weight matrix) fails, and the Markdown
  summary names the regression;
- noise alone passes: a sampled generative task (TruthfulQA generation at temperature 0.8) rerun with another
  seed changes the outputs but not the verdict.

The response cache is shared by the tests of this module (it is keyed by the model's fingerprint, so the
unchanged model reuses the baseline's answers and the degraded checkpoint, with new weights, recomputes all).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.config import ModelSpec, RunConfig
from tests.conftest import _default_models_dir, data_dir_or_skip
from tests.gate.conftest import Result

pytestmark = [pytest.mark.integration, pytest.mark.needs_data]

N_ARC = 200  # arc_easy rows: SmolLM2 gets ~0.48, the noised copy ~0.3; 100 rows left p ~ 0.06
N_TQA = 10  # TruthfulQA questions, sampled (generation is the slow part on CPU)
NOISE = 1.0  # noise std relative to each weight matrix's own std: enough to break the model


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Module-wide folders and the environment the runner reads (own cache, shared converted models)."""
    data = data_dir_or_skip()
    root = tmp_path_factory.mktemp("gate-real")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_CACHE", str(root / "cache"))
        mp.setenv("ASSAY_MODELS_DIR", str(_default_models_dir()))
        yield {"root": root, "data": data, "runs": root / "runs", "lb": root / "leaderboard.csv"}


def _evaluate(
    shared: dict[str, Any], spec: ModelSpec, tasks: tuple[str, ...], limit: int, **extra: Any
) -> Path:
    from assay.runner import run_evaluation

    config = RunConfig(
        models=(spec,),
        tasks=tasks,
        limit=limit,
        data_dir=str(shared["data"]),
        output=str(shared["runs"]),
        leaderboard=str(shared["lb"]),
        **extra,
    )
    _, run_dir = run_evaluation(config, show_progress=False)
    return run_dir


@pytest.fixture(scope="module")
def baseline_arc(shared: dict[str, Any]) -> Path:
    return _evaluate(shared, ModelSpec(model="smollm2-135m"), ("arc_easy",), N_ARC)


@pytest.fixture(scope="module")
def degraded(shared: dict[str, Any]) -> Path:
    """A copy of the SmolLM2 HF folder with N(0, (NOISE * std)^2) added to every 2-D weight, seeded."""
    import torch
    from safetensors.torch import load_file, save_file

    from assay.models.aliases import hf_folder

    source = hf_folder("smollm2-135m")
    target = shared["root"] / "smollm2-degraded"
    shutil.copytree(source, target)
    tensors = load_file(str(target / "model.safetensors"))
    gen = torch.Generator().manual_seed(0)
    for name, t in tensors.items():
        if t.ndim == 2 and t.is_floating_point():
            noise = torch.randn(t.shape, generator=gen, dtype=t.dtype) * (NOISE * float(t.std()))
            tensors[name] = (t + noise).contiguous()
    save_file(tensors, str(target / "model.safetensors"), metadata={"format": "pt"})
    return target


@pytest.fixture()
def gate_env(shared: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv(
        "ASSAY_CACHE", str(shared["root"] / "cache")
    )  # the module's cache, not the per-test one
    return shared


def _args(env: dict[str, Any], *rest: str) -> list[str]:
    return [
        "--output",
        str(env["runs"]),
        "--leaderboard",
        str(env["lb"]),
        "--data-dir",
        str(env["data"]),
        *rest,
    ]


def test_unchanged_model_passes(
    gate: Callable[..., Result], gate_env: dict[str, Any], baseline_arc: Path
) -> None:
    res = gate(
        *_args(
            gate_env,
            "--candidate",
            "smollm2-135m",
            "--baseline",
            str(baseline_arc),
            "--tasks",
            "arc_easy",
            "--limit",
            str(N_ARC),
            "--summary",
            "gate.md",
            "--json",
            "gate.json",
        )
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(Path("gate.json").read_text())
    assert [(c["task"], c["metric"], c["n"], c["difference"]) for c in data["comparisons"]] == [
        ("arc_easy", "acc", N_ARC, 0.0),
        ("arc_easy", "acc_norm", N_ARC, 0.0),
    ]
    assert Path(data["candidate"]["run_dir"], "metrics.json").exists()  # the candidate's run was written
    assert "✅ PASS" in Path("gate.md").read_text()


def test_degraded_checkpoint_fails(
    gate: Callable[..., Result], gate_env: dict[str, Any], baseline_arc: Path, degraded: Path
) -> None:
    res = gate(
        *_args(
            gate_env,
            "--candidate",
            str(degraded),
            "--baseline",
            str(baseline_arc),
            "--tasks",
            "arc_easy",
            "--limit",
            str(N_ARC),
            "--summary",
            "gate.md",
            "--json",
            "gate.json",
        )
    )
    assert Path("gate.md").exists(), res.stdout + res.stderr
    md = Path("gate.md").read_text()
    assert res.returncode == 1, md
    data = json.loads(Path("gate.json").read_text())
    regressions = [c for c in data["comparisons"] if c["status"] == "regression"]
    assert regressions and all(c["difference"] < -0.15 and c["p_adjusted"] < 0.05 for c in regressions)
    assert "❌ FAIL: significant regression on arc_easy/acc" in md and "### Regressions" in md
    assert f"- **arc_easy / {regressions[0]['metric']}**" in md
    metrics = json.loads(Path(data["candidate"]["run_dir"], "metrics.json").read_text())
    assert any(key.endswith("/arc_easy/acc") for key in metrics)


def test_sampling_noise_alone_passes(gate: Callable[..., Result], gate_env: dict[str, Any]) -> None:
    sampled = {"temperature": 0.8, "max_tokens": 32}
    base = _evaluate(
        gate_env, ModelSpec(model="smollm2-135m"), ("truthfulqa_gen",), N_TQA, seed=1, gen_kwargs=sampled
    )
    res = gate(
        *_args(
            gate_env,
            "--candidate",
            "smollm2-135m",
            "--baseline",
            str(base),
            "--tasks",
            "truthfulqa_gen",
            "--limit",
            str(N_TQA),
            "--seed",
            "2",
            "--gen-kwargs",
            "temperature=0.8,max_tokens=32",
            "--json",
            "gate.json",
        )
    )
    assert res.returncode == 0, res.stdout + res.stderr
    data = json.loads(Path("gate.json").read_text())
    comps = data["comparisons"]
    assert len(comps) >= 6 and all(c["n"] == N_TQA for c in comps)  # BLEU and ROUGE scores, Holm over all
    # the reseeded samples really differ: otherwise this test would show nothing about noise
    rows = [
        json.loads(line)
        for side in ("baseline", "candidate")
        for line in next(Path(data[side]["run_dir"], "samples").glob("*truthfulqa_gen.jsonl"))
        .read_text()
        .splitlines()
    ]
    outputs = {
        side: [r["outputs"] for r in rows[i * N_TQA : (i + 1) * N_TQA]] for i, side in enumerate(("b", "c"))
    }
    assert outputs["b"] != outputs["c"]
    assert any(c["difference"] != 0.0 for c in comps)
