"""Batched, seeded generation of the HF backend: sampling rules, and reproducibility on the real SmolLM2 model."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
import torch

from assay.models.hf_generate import cut_at_stop, row_seed, sample_token
from assay.models.hf_prefix import PrefixMemo
from assay.records import GenerationRequest
from tests.models.hf_resume import killed_then_resumed


def test_cut_at_stop_cuts_at_the_earliest_stop() -> None:
    assert cut_at_stop("a\nb\ndef c", ("\ndef", "\nb")) == ("a", True)
    assert cut_at_stop("abc", ("x", "")) == ("abc", False)


def test_row_seeds_differ_by_seed_and_sample_index() -> None:
    seeds = {row_seed(s, j) for s in (None, 1, 2, 10) for j in range(4)}
    assert len(seeds) == 16
    assert row_seed(None, 3) == row_seed(0, 3)


def test_sample_token_respects_top_p_and_is_seeded() -> None:
    logits = torch.tensor([3.0, 2.0, 1.0, 0.0])  # probabilities about 0.64, 0.24, 0.09, 0.03

    def draws(top_p: float, seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return [sample_token(logits, 1.0, top_p, gen) for _ in range(200)]

    assert set(draws(0.5, 1)) == {0}  # the nucleus is the top token alone
    assert set(draws(0.0, 1)) == {0}  # an empty nucleus still keeps the top token
    assert set(draws(0.8, 1)) == {0, 1}
    assert set(draws(1.0, 1)) == {0, 1, 2, 3}
    assert draws(1.0, 5) == draws(1.0, 5)
    assert draws(1.0, 5) != draws(1.0, 6)
    cold = torch.Generator().manual_seed(0)
    assert {sample_token(logits, 0.05, 1.0, cold) for _ in range(50)} == {0}  # low temperature is near greedy


@pytest.fixture(scope="module")
def smollm() -> Any:
    from assay.models.aliases import hf_folder
    from assay.models.hf import HFModel

    return HFModel(name="smollm2", pretrained=str(hf_folder("smollm2-135m")), batch_size=4)


def _sampled(prompt: str, seed: int, n: int = 2) -> GenerationRequest:
    return GenerationRequest(prompt=prompt, max_tokens=10, temperature=1.0, top_p=0.95, n=n, seed=seed)


@pytest.mark.integration
def test_sampled_texts_do_not_depend_on_batch_company_or_size(smollm: Any) -> None:
    requests = [
        _sampled("Once upon a time, in a land far away,", 11),
        _sampled("def add(a, b):\n", 11),
        GenerationRequest(prompt="The capital of France is", max_tokens=10, n=3),
        _sampled("My favourite colour is", 3, n=1),
    ]
    together = smollm.generate(requests)
    assert [len(r.texts) for r in together] == [2, 2, 3, 1]
    assert len(set(together[2].texts)) == 1  # greedy: n copies of one text
    alone = smollm.generate([requests[0]])[0]
    smollm.batch_size = 2
    try:
        reordered = smollm.generate(requests[::-1])[::-1]
    finally:
        smollm.batch_size = 4
    assert alone.texts == together[0].texts
    assert [r.texts for r in reordered] == [r.texts for r in together]
    assert all(n <= 10 for r in together for n in r.n_tokens)
    assert set(together[0].finish_reasons) <= {"stop", "length"}


@pytest.mark.integration
def test_different_seeds_give_different_samples(smollm: Any) -> None:
    prompt = "Here is a random word:"
    first, second = smollm.generate([_sampled(prompt, 1), _sampled(prompt, 2)])
    assert first.texts != second.texts
    assert first.texts[0] != first.texts[1]  # the n samples of one request differ too


@pytest.mark.integration
def test_greedy_equals_hf_generate_and_stops_cut(smollm: Any) -> None:
    prompts = ["The capital of France is", "def fibonacci(n):\n", "Once upon a time, in a land far away,"]
    with warnings.catch_warnings():  # e.g. a cache passed under transformers' deprecated keyword
        warnings.simplefilter("error", FutureWarning)
        ours = smollm.generate([GenerationRequest(prompt=p, max_tokens=12) for p in prompts])
    tok = smollm.tokenizer
    for prompt, response in zip(prompts, ours, strict=True):
        enc = tok(prompt, return_tensors="pt")
        with torch.inference_mode():
            out = smollm.model.generate(**enc, max_new_tokens=12, do_sample=False)
        assert response.texts[0] == tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    counting = GenerationRequest(prompt="1, 2, 3, 4,", max_tokens=16, stop=(", 7", "\n"))
    (stopped,) = smollm.generate([counting])
    assert stopped.texts == (" 5, 6",)
    assert stopped.finish_reasons == ("stop",)
    assert stopped.n_tokens[0] < 16  # decoding ended at the stop, not at max_tokens


@pytest.mark.integration
def test_shared_prefix_is_forwarded_once_and_texts_equal_hf_generate(smollm: Any) -> None:
    # a few-shot-like block shared by every prompt: prefilled once, read in place by every row and step
    shot = "Q: What is {0} plus {0}?\nA: {0} plus {0} is {1}. The answer is {1}.\n\n"
    block = "".join(shot.format(a, 2 * a) for a in range(6))
    questions = ["Q: What is 7 plus 7?\nA:", "Q: What is 12 plus 12?\nA:", "Q: What is 3 plus 30?\nA:"]
    requests = [GenerationRequest(prompt=block + q, max_tokens=12, stop=("Q:",)) for q in questions]
    smollm.prefix_memo = PrefixMemo()  # forget a prefix kept from an earlier test
    before = dict(smollm.stats)
    ours = smollm.generate(requests)
    tok = smollm.tokenizer
    n_block = len(tok(block)["input_ids"])
    prompt_tokens = sum(len(tok(r.prompt)["input_ids"]) for r in requests)
    shared = smollm.stats["prefix_tokens"] - before.get("prefix_tokens", 0)
    assert n_block <= shared < n_block + 8  # once: the block and the start of the question ("Q: What is")
    # prompts and steps together forwarded less than the prompts alone would have
    assert smollm.stats["forward_tokens"] - before["forward_tokens"] < prompt_tokens - n_block
    for req, response in zip(requests, ours, strict=True):
        enc = tok(req.prompt, return_tensors="pt")
        with torch.inference_mode():
            out = smollm.model.generate(**enc, max_new_tokens=12, do_sample=False)
        text = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        assert response.texts[0] == cut_at_stop(text, ("Q:",))[0]


@pytest.mark.integration
@pytest.mark.timeout(1800)
def test_killed_generation_run_resumes_to_the_same_texts(tmp_path: Path, data_dir: Path) -> None:
    whole, resumed = killed_then_resumed(
        tmp_path, data_dir, "--tasks", "gsm8k", "--limit", "4", "--gen-kwargs", "max_tokens=24"
    )
    assert [r["outputs"] for r in resumed] == [r["outputs"] for r in whole]
    assert len(whole) == 4 and all(r["outputs"] for r in whole)
