"""The in-process llama.cpp backend on SmolLM2's GGUF: loglikelihoods agree with the HF backend on the same
weights, shared prefixes change nothing, generation is deterministic given a seed.

The first run writes a float32 copy of the GGUF (precision=f32) under ASSAY_MODELS_DIR, shared like the
converted HF folder."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.errors import ModelError, UsageError
from assay.models.llamacpp import LlamaCppModel
from assay.records import GenerationRequest, LoglikelihoodRequest
from assay.testing.llamaserver import smollm2_gguf

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        importlib.util.find_spec("xllamacpp") is None and os.environ.get("CI") != "true",  # CI must run them
        reason="xllamacpp (prebuilt llama.cpp) is not installed: pip install 'assay[llamacpp]' (CI installs it)",
    ),
]

# multiple-choice shaped requests: shared contexts, a trailing space moved to the continuation, one token
# or several, and an empty context
QUESTION = "Question: Which gas do plants take in from the air to make food?\nAnswer:"
REQUESTS = [
    *(LoglikelihoodRequest(context=QUESTION, continuation=" " + c)
      for c in ("carbon dioxide", "oxygen", "nitrogen", "helium")),
    LoglikelihoodRequest(context="The capital of France is ", continuation="Paris"),
    LoglikelihoodRequest(context="The capital of France is", continuation=" Berlin, a city in Germany."),
    LoglikelihoodRequest(context="", continuation="Hello world"),
]  # fmt: skip


@pytest.fixture(scope="module")
def model() -> Iterator[LlamaCppModel]:
    m = LlamaCppModel(name="smollm2-gguf", path=str(smollm2_gguf()), n_ctx=1024)
    yield m
    m.close()


def test_loglikelihoods_agree_with_the_hf_backend(model: LlamaCppModel) -> None:
    from assay.models.aliases import hf_folder
    from assay.models.hf import HFModel

    hf = HFModel(name="smollm2-hf", pretrained=str(hf_folder("smollm2-135m")), dtype="float32", batch_size=4)
    theirs = hf.loglikelihood(REQUESTS)
    hf.close()
    exact = LlamaCppModel(path=str(smollm2_gguf()), n_ctx=256, precision="f32")
    same_weights = exact.loglikelihood(REQUESTS)
    exact.close()
    native = model.loglikelihood(REQUESTS)
    for req, f32, quantized, ref in zip(REQUESTS, same_weights, native, theirs, strict=True):
        assert f32.n_tokens == quantized.n_tokens == ref.n_tokens, req
        # the same float32 weights: the bound, per continuation
        assert abs(f32.logprob - ref.logprob) < 0.05, (req, f32.logprob, ref.logprob)
        # llama.cpp's own quantized compute (8-bit activations) drifts more, ~0.1 nat per token
        assert abs(quantized.logprob - ref.logprob) < 0.15 * quantized.n_tokens + 0.1, (
            req,
            quantized.logprob,
        )
    assert native[0].logprob > max(r.logprob for r in native[1:4])  # the right answer wins


def test_shared_prefixes_do_not_change_the_numbers(model: LlamaCppModel) -> None:
    forward = model.loglikelihood(REQUESTS)
    backward = model.loglikelihood(list(reversed(REQUESTS)))[::-1]
    alone = [model.loglikelihood([r])[0] for r in REQUESTS[:1]]
    for a, b in zip(forward, backward, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=2e-3) and a.is_greedy == b.is_greedy
    for a, b in zip(forward[:1], alone, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=2e-3)
    assert model.stats["reused_tokens"] > 0


def test_generation_is_greedy_or_seeded(model: LlamaCppModel) -> None:
    greedy = GenerationRequest(prompt="The capital of France is", max_tokens=8, stop=("\n",))
    sampled = [GenerationRequest(prompt="Once upon a time", max_tokens=10, temperature=1.0, n=2, seed=s)
               for s in (7, 7, 8)]  # fmt: skip
    g1, s7, s7b, s8 = model.generate([greedy, *sampled])
    (g2,) = model.generate([greedy])
    assert g1.texts == g2.texts and "Paris" in g1.texts[0] and "\n" not in g1.texts[0]
    assert s7.texts == s7b.texts and len(s7.texts) == 2
    assert s7.texts != s8.texts


def test_fingerprint_follows_the_bytes_not_the_path(model: LlamaCppModel, tmp_path: Path) -> None:
    link = tmp_path / "renamed.gguf"
    link.symlink_to(smollm2_gguf())
    other = LlamaCppModel(path=str(link), n_ctx=256)
    assert other.fingerprint == model.fingerprint and other.name == "renamed"
    other.close()
    with pytest.raises(UsageError, match="no GGUF file"):
        LlamaCppModel(path=str(tmp_path / "missing.gguf"))


def test_a_truncated_gguf_is_one_error_naming_the_file(tmp_path: Path) -> None:
    torn = tmp_path / "torn.gguf"
    torn.write_bytes(smollm2_gguf().read_bytes()[: 5 << 20])  # the first 5 MB of a 98 MB file
    with pytest.raises(ModelError, match="llama.cpp cannot load .*torn.gguf") as info:
        LlamaCppModel(path=str(torn))
    assert info.value.hint == "is it a complete GGUF file?"
