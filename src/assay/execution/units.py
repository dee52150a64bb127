"""The one rule that turns request lists into units of work.

A unit is the list of requests handed to a backend in one call. Backends batch what they are given (the HF
backend packs the choices of a question behind one copy of their context and forwards a prefix shared by the
whole call once), and batching moves results in the last digits (~2e-5 nats), so the units decide the numbers.
They are therefore formed from the request lists alone, never from the worker count, what is already done or
timing: a local run, a cluster run with any number of workers and a resumed run compute the same units.

The rule, per request list (one task's requests, in order):
1. a request whose key appeared earlier (in this list or an earlier one) is not computed again;
2. consecutive requests that share a context (a multiple-choice question) or a prompt form a prefix group;
3. groups are merged in order while the unit stays within `size` requests; a group larger than `size` is
   split into pieces of `size`.
Units never span two lists, so each belongs to one task and is named after it ("mmlu_anatomy#3").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assay.execution.kinds import KINDS, Kind, kind_of
from assay.records import Request

__all__ = ["KINDS", "Kind", "Unit", "WorkList", "form_units", "pack_groups", "prefix_groups"]


@dataclass(frozen=True, slots=True)
class Unit:
    """Requests computed in one backend call, with their cache keys (model fingerprint + request)."""

    uid: str  # "<label>#<n>": stable across runs, executors and worker counts
    kind: Kind
    requests: tuple[Request, ...]
    keys: tuple[str, ...]

    @property
    def cost(self) -> int:
        """A size estimate for scheduling the largest units first: characters a backend reads."""
        return sum(kind_of(r).cost(r) for r in self.requests)


@dataclass(frozen=True, slots=True)
class WorkList:
    """One caller's requests (typically one task's), all of one kind, with their keys in the same order."""

    label: str
    kind: Kind
    requests: tuple[Request, ...]
    keys: tuple[str, ...]


def prefix_groups(requests: Sequence[Request]) -> list[list[int]]:
    """Indices of consecutive requests sharing a context (or prompt)."""
    groups: list[list[int]] = []
    last: str | None = None
    for i, req in enumerate(requests):
        prefix = kind_of(req).shared(req)
        if groups and prefix == last:
            groups[-1].append(i)
        else:
            groups.append([i])
        last = prefix
    return groups


def pack_groups(groups: Sequence[Sequence[int]], size: int) -> list[list[int]]:
    """Merge consecutive groups up to `size` indices; split a group larger than `size` into pieces."""
    units: list[list[int]] = []
    current: list[int] = []
    for group in groups:
        if len(group) > size:
            if current:
                units.append(current)
                current = []
            units.extend(list(group[i : i + size]) for i in range(0, len(group), size))
            continue
        if len(current) + len(group) > size:
            units.append(current)
            current = []
        current.extend(group)
    if current:
        units.append(current)
    return units


def form_units(lists: Sequence[WorkList], size: int, generate_size: int) -> list[Unit]:
    """All units of a run's request lists: `size` requests at most for scoring, `generate_size` for generation
    (a generation list's last unit takes in a remainder of less than half that, so at most 1.5 times as many)."""
    if size < 1 or generate_size < 1:
        raise ValueError("unit sizes must be positive")
    seen: set[str] = set()
    units: list[Unit] = []
    for work in lists:
        owned = []
        for i, key in enumerate(work.keys):
            if key not in seen:
                seen.add(key)
                owned.append(i)
        requests = [work.requests[i] for i in owned]
        limit = generate_size if work.kind == "generate" else size
        pieces = pack_groups(prefix_groups(requests), limit)
        if work.kind == "generate" and len(pieces) > 1 and 2 * len(pieces[-1]) < limit:
            # a short last unit would decode alone at a fraction of the batch: it joins the one before
            pieces[-2:] = [pieces[-2] + pieces[-1]]
        for n, members in enumerate(pieces):
            picked = [owned[m] for m in members]
            units.append(
                Unit(
                    uid=f"{work.label}#{n}",
                    kind=work.kind,
                    requests=tuple(work.requests[i] for i in picked),
                    keys=tuple(work.keys[i] for i in picked),
                )
            )
    return units
