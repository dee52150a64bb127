"""Per-annotator order and sides: random across annotators, stable for one annotator."""

from __future__ import annotations

from assay.human.blinding import annotator_order, is_swapped

IDS = [f"item-{i}" for i in range(40)]


def test_order_is_a_stable_permutation_per_annotator() -> None:
    alice = annotator_order("alice", IDS)
    assert sorted(alice) == sorted(IDS)
    assert alice == annotator_order("alice", IDS)  # a reload shows the same order
    assert alice != IDS  # shuffled (40! orders: the identity would be a broken shuffle)
    assert alice != annotator_order("bob", IDS)


def test_sides_are_stable_and_roughly_balanced() -> None:
    flips = [is_swapped("alice", i) for i in IDS]
    assert flips == [is_swapped("alice", i) for i in IDS]
    many = [is_swapped(f"annotator-{a}", f"item-{i}") for a in range(10) for i in range(100)]
    assert 400 < sum(many) < 600  # 1000 fair coin flips; outside this band has odds below 1e-9
    assert [is_swapped("alice", i) for i in IDS] != [is_swapped("bob", i) for i in IDS]
