"""The HF backend's fast paths on both default models, against plain transformers (real weights, real data).

SmolLM2 has full attention in every layer; Gemma-3 mixes sliding-window layers (512 tokens) with full ones, so
its prompts here include a few-shot block longer than the window: the packed scorer's masks, the decoding cache
(rows leaving and joining a batch) and the shared prefix must all apply the window as transformers does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from assay.records import GenerationRequest, LoglikelihoodRequest

pytestmark = pytest.mark.integration

MODELS = ["smollm2-135m", "gemma3-270m"]


@pytest.fixture(scope="module", params=MODELS)
def model(request: pytest.FixtureRequest) -> Any:
    from assay.models.aliases import hf_folder
    from assay.models.hf import HFModel

    return HFModel(name=request.param, pretrained=str(hf_folder(request.param)), batch_size=4)


def _gsm8k_prompts(data_dir: Path) -> list[str]:
    """8 gsm8k questions: 6 zero-shot, 2 after a 4-shot block (over 600 tokens: past Gemma's window of 512)."""
    path = data_dir / "openai" / "gsm8k" / "main" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:108]]
    shots = "".join(f"Question: {r['question']}\nAnswer: {r['answer']}\n\n" for r in rows[100:104])
    questions = [f"Question: {r['question']}\nAnswer:" for r in rows[:8]]
    return [shots + q for q in questions[:2]] + questions[2:]


def test_greedy_gsm8k_texts_equal_transformers_generate(model: Any, data_dir: Path) -> None:
    prompts = _gsm8k_prompts(data_dir)
    ours = model.generate([GenerationRequest(prompt=p, max_tokens=16) for p in prompts])
    tokenizer = model.tokenizer
    assert max(len(tokenizer(p)["input_ids"]) for p in prompts) > 600
    for prompt, response in zip(prompts, ours, strict=True):
        enc = tokenizer(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = model.model.generate(**enc, max_new_tokens=16, do_sample=False)
        reference = tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        assert response.texts[0] == reference, prompt[-80:]
        assert reference.strip()


def test_loglikelihoods_equal_a_plain_forward_pass(model: Any, data_dir: Path) -> None:
    prompts = _gsm8k_prompts(data_dir)[:4]
    # two continuations per long prompt: they share the few-shot block, scored once as a prefix
    requests = [LoglikelihoodRequest(context=p, continuation=c) for p in prompts for c in (" 18", " $18 dollars")]
    ours = model.loglikelihood(requests)
    tokenizer = model.tokenizer
    for req, got in zip(requests, ours, strict=True):
        context = tokenizer(req.context)["input_ids"]
        whole = tokenizer(req.context + req.continuation)["input_ids"]
        with torch.inference_mode():
            logprobs = torch.log_softmax(model.model(torch.tensor([whole])).logits.float(), dim=-1)[0]
        reference = sum(float(logprobs[i - 1, whole[i]]) for i in range(len(context), len(whole)))
        assert got.logprob == pytest.approx(reference, abs=2e-4), (len(context), req.continuation)


def test_bfloat16_scoring_through_a_shared_prefix_runs_and_stays_close(data_dir: Path) -> None:
    """bfloat16 (the dtype of lm-eval's tutorial command): the shared-prefix merge computes in float32 and must
    hand the layer back its own dtype (it crashed in o_proj with float != BFloat16)."""
    from assay.models.aliases import hf_folder
    from assay.models.hf import HFModel

    prompts = _gsm8k_prompts(data_dir)[:2]  # both start with the same 4-shot block: scored as one prefix
    requests = [LoglikelihoodRequest(context=p, continuation=c) for p in prompts for c in (" 18", " 20")]
    bf16 = HFModel(name="smollm2-bf16", pretrained=str(hf_folder("smollm2-135m")), dtype="bfloat16", batch_size=4)
    fp32 = HFModel(name="smollm2", pretrained=str(hf_folder("smollm2-135m")), batch_size=4)
    for low, full in zip(bf16.loglikelihood(requests), fp32.loglikelihood(requests), strict=True):
        assert low.logprob == pytest.approx(full.logprob, abs=1.0)  # bfloat16 keeps ~3 significant digits
