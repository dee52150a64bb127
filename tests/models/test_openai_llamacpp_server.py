"""Acceptance tests of the OpenAI-compatible backend against a real server: llama.cpp's, serving SmolLM2.

The server (llama.cpp's own, from the prebuilt xllamacpp wheel of the `llamacpp` extra) is started once per
module by `python -m assay.testing.llamaserver`; a fault-injecting proxy between assay and the server shows
that a run survives drops, 500s, 429s and slow answers with every sample scored exactly once, and with the
same outputs as a run without faults.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.config import ModelSpec, RunConfig
from assay.errors import ModelError
from assay.models.openai import OpenAICompletionsModel
from assay.records import GenerationRequest, LoglikelihoodRequest
from assay.runner import run_evaluation
from assay.testing.faultproxy import FaultPlan, FaultProxy
from assay.testing.llamaserver import LlamaServer, smollm2_gguf
from tests.conftest import assay_cmd

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None and os.environ.get("CI") != "true",  # CI must run them
        reason="xllamacpp (prebuilt llama.cpp) is not installed: pip install 'assay[llamacpp]' (CI installs it)",
    ),
]

SHORT = {"max_tokens": 48}  # bounded generations keep the module to a few minutes on 2 cores


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with LlamaServer(smollm2_gguf(), alias="smollm2", n_ctx=2048) as running:
        yield running


def _config(base_url: str, out: Path, data_dir: Path, limit: int, **extra: object) -> RunConfig:
    args = {"base_url": base_url, "model": "smollm2", "backoff": 0.05, "max_backoff": 0.5, "concurrency": 4}
    return RunConfig(
        models=(ModelSpec(name="smollm2-server", model="openai-completions", args=args),),
        tasks=("gsm8k",), limit=limit, data_dir=str(data_dir), output=str(out / "runs"),
        leaderboard=str(out / "leaderboard.csv"), use_cache=False, gen_kwargs=SHORT, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def _rows(run_dir: Path) -> list[dict]:
    (path,) = (run_dir / "samples").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_gsm8k_runs_through_the_server(server: LlamaServer, data_dir: Path, tmp_path: Path) -> None:
    record, run_dir = run_evaluation(_config(server.base_url, tmp_path, data_dir, 4), show_progress=False)
    rows = _rows(run_dir)
    assert len(rows) == 4 and len({r["sample_id"] for r in rows}) == 4
    for row in rows:
        assert row["prompt"].startswith("Q: There are 15 trees") and row["prompt"].endswith("\nA:")
        assert row["outputs"] and row["outputs"][0].strip(), row  # the model said something
        assert "Q:" not in row["outputs"][0]  # the stop sequence ended it (or max_tokens did)
        assert set(row["scores"]) == {"exact_match_strict", "exact_match_flexible"}
        assert all(v in (0.0, 1.0) for v in row["scores"].values())
    (result,) = [r for r in record.results if r.task == "gsm8k"]
    assert result.n_samples == 4 and {"exact_match_strict", "exact_match_flexible"} <= set(result.metrics)


def test_a_run_survives_faults_and_scores_each_sample_once(server: LlamaServer, data_dir: Path, tmp_path: Path) -> None:
    _, clean_dir = run_evaluation(_config(server.base_url, tmp_path / "clean", data_dir, 6), show_progress=False)
    plan = FaultPlan(drop=0.12, drop_after=0.12, error_500=0.12, rate_limit=0.12, slow=0.12,
                     retry_after=0.3, slow_seconds=0.5, max_faults_per_body=3, seed=11)  # fmt: skip
    with FaultProxy(server.origin, plan) as proxy:
        _, faulty_dir = run_evaluation(
            _config(proxy.url + "/v1", tmp_path / "faulty", data_dir, 6), show_progress=False
        )
    assert sum(proxy.stats.faults.values()) >= 3 and len(proxy.stats.faults) >= 3, proxy.stats.faults
    completions = {k: v for k, v in proxy.delivered.items() if "/completions" in k}
    assert len(completions) == 6 and set(completions.values()) == {1}  # each sample answered exactly once
    clean, faulty = _rows(clean_dir), _rows(faulty_dir)
    assert [r["sample_id"] for r in faulty] == [r["sample_id"] for r in clean]
    assert [r["outputs"] for r in faulty] == [r["outputs"] for r in clean]  # greedy: faults change nothing
    assert [r["scores"] for r in faulty] == [r["scores"] for r in clean]


def test_seeded_sampling_is_reproducible(server: LlamaServer) -> None:
    model = OpenAICompletionsModel(base_url=server.base_url, model="smollm2")
    ask = [GenerationRequest(prompt="Once upon a time", max_tokens=12, temperature=1.0, n=2, seed=s) for s in (1, 1, 2)]
    first, again, other = model.generate(ask)
    assert first.texts == again.texts and len(first.texts) == 2
    assert first.texts[0] != first.texts[1] or first.texts != other.texts  # seeds change what is sampled


def test_echo_logprobs_of_llama_cpp_are_refused(server: LlamaServer) -> None:
    model = OpenAICompletionsModel(base_url=server.base_url, model="smollm2")
    with pytest.raises(ModelError, match="cannot be trusted"):
        model.loglikelihood([LoglikelihoodRequest(context="The capital of France is", continuation=" Paris")])


def test_cli_run_against_the_server(server: LlamaServer, data_dir: Path, tmp_path: Path) -> None:
    args = f"base_url={server.base_url},model=smollm2"
    cmd = assay_cmd("run", "--model", "openai-completions", "--model-args", args, "--tasks", "gsm8k",
                    "--limit", "2", "--data-dir", str(data_dir), "--output", str(tmp_path / "runs"),
                    "--gen-kwargs", "max_tokens=32")  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exact_match_strict" in done.stdout and "gsm8k" in done.stdout


def test_sampled_generation_is_cached_and_replayed(server: LlamaServer, data_dir: Path, tmp_path: Path) -> None:
    sampled = {"temperature": 0.8, "max_tokens": 16}
    config = _config(server.base_url, tmp_path, data_dir, 2).model_copy(
        update={"use_cache": True, "gen_kwargs": sampled}
    )
    first, first_dir = run_evaluation(config, show_progress=False)
    again, again_dir = run_evaluation(config, show_progress=False)
    assert first.stats["smollm2-server"]["requests_computed"] == 2
    assert again.stats["smollm2-server"]["requests_cached"] == 2
    assert again.stats["smollm2-server"]["requests_computed"] == 0
    assert [r["outputs"] for r in _rows(again_dir)] == [r["outputs"] for r in _rows(first_dir)]
