"""Agreement over a ratings database: labels are the resolved verdicts, numbers match hand computations."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assay.errors import UsageError
from assay.human.agreement import agreement
from assay.human.blinding import is_swapped
from assay.human.storage import Store


def rate_all(store: Store, annotator: str, scores: dict[str, int]) -> None:
    for item_id, score in scores.items():
        store.save_rating(annotator, item_id, score=score)


def test_single_mode_matches_hand_computed_values(single_store: Store) -> None:
    # alice 7,7,3,3 and bob 7,3,3,3: p_o = 3/4, p_e = 1/2, so Cohen's kappa = 1/2 (the same weighted, with
    # two categories); Fleiss: P_bar = 3/4, P_e = 34/64, kappa = 7/15; interval alpha: D_o = 4, D_e = 480/56,
    # alpha = 1 - 4 * 56 / 480 = 8/15
    rate_all(single_store, "alice", {"q0": 7, "q1": 7, "q2": 3, "q3": 3})
    rate_all(single_store, "bob", {"q0": 7, "q1": 3, "q2": 3, "q3": 3})
    report = agreement(single_store)
    [pair] = report.pairs
    assert (pair.annotator_a, pair.annotator_b, pair.n_items) == ("alice", "bob", 4)
    assert pair.percent_agreement == pytest.approx(75.0)
    assert pair.kappa == pytest.approx(0.5)
    assert pair.weighted_kappa == pytest.approx(0.5)
    assert (report.fleiss_kappa, report.fleiss_n_items) == (pytest.approx(7 / 15), 4)
    assert (report.alpha, report.alpha_level) == (pytest.approx(8 / 15), "interval")
    assert report.notes == ()


def test_pairwise_compares_resolved_verdicts_not_clicked_sides(pairwise_store: Store) -> None:
    preferred = {"p0": "a", "p1": "a", "p2": "b", "p3": "tie"}
    clicked = {}
    for name in ("alice", "dave"):  # their side mappings differ on p0, p1 and p2
        for item_id, want in preferred.items():
            # click whichever displayed side shows the preferred model for this annotator
            left = "b" if is_swapped(name, item_id) else "a"
            choice = "tie" if want == "tie" else ("A" if want == left else "B")
            clicked[name, item_id] = choice
            pairwise_store.save_rating(name, item_id, choice=choice)
    assert any(clicked["alice", i] != clicked["dave", i] for i in preferred)  # the clicks differ...
    report = agreement(pairwise_store)
    assert report.pairs[0].kappa == pytest.approx(1.0)  # ...but the verdicts agree completely
    assert report.fleiss_kappa == pytest.approx(1.0)
    assert (report.alpha, report.alpha_level) == (pytest.approx(1.0), "nominal")


def test_missing_ratings_and_annotator_subsets(single_store: Store) -> None:
    rate_all(single_store, "alice", {"q0": 7, "q1": 7, "q2": 3, "q3": 3})
    rate_all(single_store, "bob", {"q0": 7, "q1": 3, "q2": 3, "q3": 3})
    rate_all(single_store, "carol", {"q0": 8, "q2": 2})
    report = agreement(single_store)
    assert report.annotators == ("alice", "bob", "carol")
    assert [p.n_items for p in report.pairs] == [4, 2, 2]
    assert (report.fleiss_n_items, report.n_items_shared) == (2, 4)  # Fleiss: only items everyone rated
    only_two = agreement(single_store, ["alice", "bob"])
    assert only_two.fleiss_kappa == pytest.approx(7 / 15)
    with pytest.raises(UsageError) as info:
        agreement(single_store, ["alice", "dave"])
    assert info.value.message == "no ratings by annotator(s) 'dave'"
    assert info.value.hint == "annotators with ratings: alice, bob, carol"


def test_undefined_statistics_become_notes(single_store: Store) -> None:
    rate_all(single_store, "alice", {"q0": 5, "q1": 5})
    rate_all(single_store, "bob", {"q0": 5, "q1": 5})
    report = agreement(single_store)
    assert report.pairs[0].percent_agreement == 100.0
    assert report.pairs[0].kappa is None and report.alpha is None
    assert any(note.startswith("Cohen's kappa alice / bob: undefined") for note in report.notes)


def test_refusals(single_store: Store, pairwise_store: Store) -> None:
    rate_all(single_store, "alice", {"q0": 5})
    with pytest.raises(UsageError, match="needs items rated by two or more annotators"):
        agreement(single_store)
    with pytest.raises(UsageError, match="unknown level 'circular'"):
        agreement(single_store, level="circular")
    with pytest.raises(UsageError, match="unordered categories"):
        agreement(pairwise_store, level="interval")


def test_agreement_command(single_store: Store) -> None:
    rate_all(single_store, "alice", {"q0": 7, "q1": 7, "q2": 3, "q3": 3})
    rate_all(single_store, "bob", {"q0": 7, "q1": 3, "q2": 3, "q3": 3})
    base = [sys.executable, "-m", "assay.cli.main", "human", "agreement", "--db", str(single_store.path)]
    table = subprocess.run(base, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "alice / bob" in table and "0.500" in table and "0.533" in table
    data = json.loads(subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=60).stdout)
    assert data["fleiss_kappa"] == pytest.approx(7 / 15) and data["annotators"] == ["alice", "bob"]
