"""The one rule that forms units: from the request lists alone, prefix groups merged and split by a fixed size."""

from __future__ import annotations

from assay.execution.units import WorkList, form_units, pack_groups, prefix_groups
from assay.records import GenerationRequest, LoglikelihoodRequest


def _mc(question: int, choices: int) -> list[LoglikelihoodRequest]:
    return [LoglikelihoodRequest(context=f"Q{question}:", continuation=f" {c}") for c in range(choices)]


def _work(label: str, requests: list[LoglikelihoodRequest]) -> WorkList:
    return WorkList(label, "loglikelihood", tuple(requests), tuple(r.key() for r in requests))


def test_prefix_groups_are_runs_of_one_context() -> None:
    reqs = _mc(0, 4) + _mc(1, 2) + _mc(0, 1)  # a context that comes back later starts a new group
    assert prefix_groups(reqs) == [[0, 1, 2, 3], [4, 5], [6]]


def test_small_groups_merge_and_large_ones_split_by_the_fixed_size() -> None:
    groups = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10], list(range(11, 31)), [31]]
    units = pack_groups(groups, 8)
    # the pieces of a split group stand alone; merging resumes with the next group
    assert units == [list(range(0, 8)), [8, 9, 10], list(range(11, 19)), list(range(19, 27)), [27, 28, 29, 30], [31]]
    assert [i for u in units for i in u] == list(range(32))


def test_units_do_not_depend_on_anything_but_the_lists() -> None:
    a = _work("arc", [r for q in range(10) for r in _mc(q, 4)])
    b = _work("mmlu_x", [r for q in range(100, 103) for r in _mc(q, 4)])
    first = form_units([a, b], 16, 2)
    assert [u.uid for u in first] == ["arc#0", "arc#1", "arc#2", "mmlu_x#0"]
    assert [len(u.requests) for u in first] == [16, 16, 8, 12]  # no question is cut in two
    assert form_units([a, b], 16, 2) == first  # the same lists give the same units
    # a list's units are the same whatever comes after it; units never span two lists
    assert form_units([a], 16, 2) == first[:3]


def test_a_repeated_request_is_computed_once_by_the_first_unit_that_has_it() -> None:
    a = _work("t1", _mc(0, 4))
    b = _work("t2", _mc(0, 4) + _mc(1, 4))
    units = form_units([a, b], 16, 2)
    keys = [k for u in units for k in u.keys]
    assert len(keys) == len(set(keys)) == 8
    assert units[1].requests == tuple(_mc(1, 4))


def test_generation_units_use_their_own_size() -> None:
    gens = [GenerationRequest(prompt=f"p{i}", max_tokens=8) for i in range(5)]
    work = WorkList("code", "generate", tuple(gens), tuple(g.key() for g in gens))
    assert [len(u.requests) for u in form_units([work], 128, 2)] == [2, 2, 1]
    assert form_units([work], 128, 2)[0].cost == (2 + 8) * 2


def test_a_short_last_generation_unit_joins_the_one_before() -> None:
    """A remainder under half a unit would decode alone at a fraction of the batch (gsm8k, 20 rows: 16 + 4)."""

    def sizes(n: int) -> list[int]:
        gens = [GenerationRequest(prompt=f"p{i}", max_tokens=8) for i in range(n)]
        work = WorkList("gsm8k", "generate", tuple(gens), tuple(g.key() for g in gens))
        units = form_units([work], 128, 16)
        assert [k for u in units for k in u.keys] == [g.key() for g in gens]  # none lost, order kept
        return [len(u.requests) for u in units]

    assert sizes(20) == [20]
    assert sizes(23) == [23]
    assert sizes(24) == [16, 8]
    assert sizes(39) == [16, 23]
    assert sizes(7) == [7]
