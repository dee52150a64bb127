"""Inter-annotator agreement over a ratings database, computed with the shared statistics in assay.stats.

What is compared: in single mode the scores 1-10; in pairwise mode the verdict resolved to the item's own
sides ("a", "b", "tie"), never the clicked side, since each annotator saw the sides in their own random order.

    Cohen's kappa          every pair of annotators, on the items both rated (single mode also reports
                           the quadratic-weighted kappa, which credits near misses on the 1-10 scale)
    Fleiss' kappa          the items rated by every annotator (it needs the same number of ratings per item)
    Krippendorff's alpha   all items with two or more ratings (missing ratings allowed); interval level for
                           scores and nominal for pairwise verdicts unless another level is asked for

A statistic that is undefined (too few items, or no variation at all) is None with a note saying why.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from assay.errors import UsageError
from assay.human.storage import Store
from assay.stats import accuracy, cohen_kappa, fleiss_kappa, krippendorff_alpha
from assay.stats.agreement import Level

Label = int | str
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")


@dataclass(frozen=True, slots=True, kw_only=True)
class PairAgreement:
    """Agreement of two annotators on the items both rated."""

    annotator_a: str
    annotator_b: str
    n_items: int
    percent_agreement: float | None
    kappa: float | None
    weighted_kappa: float | None = None  # quadratic weights; single mode only


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementReport:
    """Agreement statistics of one ratings database (or of a chosen subset of its annotators)."""

    mode: str
    annotators: tuple[str, ...]
    n_items_rated: int  # items with at least one rating
    n_items_shared: int  # items with two or more ratings
    pairs: tuple[PairAgreement, ...]
    fleiss_kappa: float | None
    fleiss_n_items: int
    alpha: float | None
    alpha_level: Level
    notes: tuple[str, ...] = field(default=())


def collect_labels(store: Store, annotators: Sequence[str] = ()) -> dict[str, dict[str, Label]]:
    """{annotator: {item_id: label}} for the chosen annotators (all when none are named)."""
    labels: dict[str, dict[str, Label]] = {}
    for r in store.ratings():
        label = r.score if store.mode == "single" else r.winner
        if label is not None:
            labels.setdefault(r.annotator, {})[r.item_id] = label
    unknown = [a for a in annotators if a not in labels]
    if unknown:
        raise UsageError(
            f"no ratings by annotator(s) {', '.join(map(repr, unknown))}",
            hint="annotators with ratings: " + ", ".join(sorted(labels)) if labels else None,
        )
    return {a: labels[a] for a in annotators} if annotators else dict(sorted(labels.items()))


def _defined(compute: Callable[[], float], what: str, notes: list[str]) -> float | None:
    """Run one statistic; an undefined result becomes None plus a note instead of an error or a NaN."""
    try:
        value = compute()
    except UsageError as exc:
        notes.append(f"{what}: {exc.message}")
        return None
    if math.isnan(value):
        notes.append(f"{what}: undefined (every rating is the same label, so chance agreement is perfect)")
        return None
    return value


def _pair(mode: str, a: str, b: str, labels: dict[str, dict[str, Label]], notes: list[str]) -> PairAgreement:
    common = [i for i in labels[a] if i in labels[b]]
    x, y = [labels[a][i] for i in common], [labels[b][i] for i in common]
    if not common:
        notes.append(f"{a} / {b}: no item rated by both")
        return PairAgreement(annotator_a=a, annotator_b=b, n_items=0, percent_agreement=None, kappa=None)
    name = f"Cohen's kappa {a} / {b}"
    weighted = None
    if mode == "single":
        weighted = _defined(lambda: cohen_kappa(x, y, weights="quadratic"), "weighted " + name, notes)
    return PairAgreement(
        annotator_a=a,
        annotator_b=b,
        n_items=len(common),
        percent_agreement=100.0 * accuracy(x, y),
        kappa=_defined(lambda: cohen_kappa(x, y), name, notes),
        weighted_kappa=weighted,
    )


def check_level(mode: str, level: str | None) -> Level:
    """The Krippendorff level to use: `level` if valid for `mode`, else the mode's default."""
    if level is None:
        return "interval" if mode == "single" else "nominal"
    if level not in LEVELS:
        raise UsageError(f"unknown level {level!r}", hint="use nominal, ordinal, interval or ratio")
    if mode == "pairwise" and level != "nominal":
        raise UsageError("pairwise verdicts (a, b, tie) are unordered categories", hint="use --level nominal")
    return level  # type: ignore[return-value]


def agreement(store: Store, annotators: Sequence[str] = (), level: str | None = None) -> AgreementReport:
    """Compute the agreement report; raises UsageError when no item has two ratings to compare."""
    alpha_level = check_level(store.mode, level)
    labels = collect_labels(store, annotators)
    names = tuple(labels)
    items = [i for i in store.items if any(i in labels[a] for a in names)]
    shared = [i for i in items if sum(i in labels[a] for a in names) >= 2]
    if len(names) < 2 or not shared:
        raise UsageError(
            f"agreement needs items rated by two or more annotators ({len(names)} annotator(s), "
            f"{len(shared)} shared item(s))",
            hint="let at least two annotators rate the same items",
        )
    notes: list[str] = []
    pairs = tuple(_pair(store.mode, a, b, labels, notes) for a, b in itertools.combinations(names, 2))
    complete = [i for i in items if all(i in labels[a] for a in names)]
    fleiss = None
    if complete:
        fleiss = _defined(
            lambda: fleiss_kappa([[labels[a][i] for a in names] for i in complete]), "Fleiss", notes
        )
    else:
        notes.append("Fleiss' kappa: no item was rated by every annotator")
    matrix = [[labels[a].get(i) for i in shared] for a in names]
    alpha = _defined(lambda: krippendorff_alpha(matrix, level=alpha_level), "Krippendorff's alpha", notes)
    return AgreementReport(
        mode=store.mode,
        annotators=names,
        n_items_rated=len(items),
        n_items_shared=len(shared),
        pairs=pairs,
        fleiss_kappa=fleiss,
        fleiss_n_items=len(complete),
        alpha=alpha,
        alpha_level=alpha_level,
        notes=tuple(notes),
    )
