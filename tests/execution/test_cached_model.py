"""CachedModel: units from the full request list, whole units skipped when known, each unit journaled as it finishes.

Real fake backend (assay.testing.fake), real SQLite stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from assay.errors import ModelError
from assay.models.base import Progress
from assay.models.cache import CachedModel, ResponseStore
from assay.records import LoglikelihoodRequest, LoglikelihoodResponse
from assay.testing.fake import FakeModel


class Recording(FakeModel):
    """The fake backend, remembering the request lists it was handed (one per unit)."""

    def __init__(self, **args: object) -> None:
        super().__init__(**args)
        self.calls: list[tuple[LoglikelihoodRequest, ...]] = []

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        self.calls.append(tuple(requests))
        return super().loglikelihood(requests, progress)


def _requests(questions: int) -> list[LoglikelihoodRequest]:
    return [LoglikelihoodRequest(context=f"Q{q}?", continuation=f" {c}") for q in range(questions) for c in "ABCD"]


def test_a_failed_run_resumes_with_the_units_of_a_fresh_run(tmp_path: Path) -> None:
    reqs = _requests(30)  # 120 requests: units of 16 (4 questions each), the last one 8
    fresh = Recording(seed=3)
    CachedModel(fresh, [], [], chunk_size=16).loglikelihood(reqs)
    assert [len(c) for c in fresh.calls] == [16] * 7 + [8]

    journal = ResponseStore(tmp_path / "journal.sqlite")
    with pytest.raises(ModelError):  # seeded failures stop the run part way through
        CachedModel(Recording(seed=3, fail_rate=0.02), [journal], [journal], chunk_size=16).loglikelihood(reqs)
    journaled = journal.count()
    assert 0 < journaled < len(reqs) and journaled % 16 == 0  # whole units only

    again = Recording(seed=3)
    model = CachedModel(again, [journal], [journal], chunk_size=16)
    answers = model.loglikelihood(reqs)
    assert set(again.calls) <= set(fresh.calls)  # the very same batches, only those not yet done
    assert model.stats["requests_computed"] == len(reqs) - journaled
    assert model.stats["requests_cached"] == journaled
    assert answers == FakeModel(seed=3).loglikelihood(reqs)


def test_run_lists_puts_every_task_in_one_queue_and_counts_duplicates(tmp_path: Path) -> None:
    store = ResponseStore(tmp_path / "cache.sqlite")
    backend = Recording(seed=1)
    model = CachedModel(backend, [store], [store], chunk_size=16)
    a, b = _requests(3), _requests(5)  # b repeats a's twelve requests
    seen: list[int] = []
    got = model.run_lists([model.work_list("a", "loglikelihood", a), model.work_list("b", "loglikelihood", b)],
                          seen.append)  # fmt: skip
    assert got[0] == got[1][:12]
    assert sum(seen) == len(a) + len(b)
    assert model.stats["requests_computed"] == 20 and model.stats["units_computed"] == 2
    assert store.count() == 20
