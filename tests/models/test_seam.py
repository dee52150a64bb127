"""The model seam's optional capabilities are declared, not probed: every backend and wrapper answers them, and a
backend without whole-text scoring refuses it with one ModelError line."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import ModelError
from assay.execution.base import LoadedModel
from assay.execution.local import LocalExecutor, compute_unit
from assay.execution.units import Unit
from assay.models.backends import model_info
from assay.models.base import Model
from assay.models.cache import CachedModel, ResponseStore
from assay.models.openai import OpenAICompletionsModel
from assay.records import LoglikelihoodRequest, RollingRequest
from assay.testing.fake import FakeModel

TEXTS = (RollingRequest(text="one two three"), RollingRequest(text="four five"))


def test_backends_and_wrappers_answer_every_capability(tmp_path: Path) -> None:
    fake = FakeModel(seed=3)
    http = OpenAICompletionsModel(base_url="http://127.0.0.1:9/v1", concurrency=3)
    cached = CachedModel(fake, readers=[], writers=[ResponseStore(tmp_path / "r.sqlite")])
    for model in (fake, cached):  # (isinstance reads every member: http's fingerprint would ask its server)
        assert isinstance(model, Model)
    assert (fake.version, fake.preferred_chunk_size) == ("", None)
    assert http.preferred_chunk_size == 12  # an HTTP backend wants many requests in flight: 4 per slot
    assert LocalExecutor(http).generate_unit_hint == 12
    assert (cached.version, cached.preferred_chunk_size) == ("", None)
    info = model_info("fake", {"revision": "r1"}, LocalExecutor(fake).loaded, "mine")
    assert (info.name, info.version, info.fingerprint) == ("mine", "r1", fake.fingerprint)
    cached.close()
    http.close()


def test_stats_are_the_backends_own_and_grow_as_it_answers(tmp_path: Path) -> None:
    fake = FakeModel()
    cached = CachedModel(fake, readers=[], writers=[ResponseStore(tmp_path / "r.sqlite")])
    answers = cached.loglikelihood_rolling(TEXTS)
    assert len(answers) == 2 and cached.stats["requests_computed"] == 2
    assert fake.stats["fake_requests"] == 2
    assert LocalExecutor(fake).stats == dict(fake.stats)  # a copy: the caller cannot change the backend's
    cached.close()


def test_the_executor_carries_the_models_identity_and_the_cache_keys_by_it(tmp_path: Path) -> None:
    fake = FakeModel(name="mine", seed=3)
    executor = LocalExecutor(fake)
    assert executor.loaded == LoadedModel(name="mine", backend="fake", fingerprint="fake-v1:3", version="")
    assert not any(hasattr(executor, part) for part in ("name", "backend", "fingerprint", "version"))
    cached = CachedModel(executor, readers=[], writers=[])
    assert (cached.name, cached.backend, cached.fingerprint) == ("mine", "fake", "fake-v1:3")
    # the key a request had before executors carried the identity (computed then): caches and journals stay valid
    request = LoglikelihoodRequest(context="Q: 2+2?\nA:", continuation=" 4")
    assert cached.key(request) == "a836b5fc2899a32d4dddf15095af150083e7d698"
    http = OpenAICompletionsModel(base_url="http://127.0.0.1:9/v1")
    LocalExecutor(http).close()  # no server there: an executor asks its model for the identity only when needed


def test_a_backend_without_whole_text_scoring_refuses_it_in_one_line() -> None:
    http = OpenAICompletionsModel(base_url="http://127.0.0.1:9/v1")
    unit = Unit("ppl#0", "rolling", TEXTS, ("a", "b"))
    with pytest.raises(ModelError) as caught:
        compute_unit(http, unit)
    assert caught.value.message == "the openai-completions backend cannot score whole texts (loglikelihood_rolling)"
    assert caught.value.hint == "run perplexity tasks with the hf backend"
    http.close()
