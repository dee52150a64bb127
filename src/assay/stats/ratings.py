"""Ratings of many models from pairwise results (judge or human): Elo and Bradley-Terry, with bootstrap CIs.

A match is `(model_a, model_b, outcome)`; outcome is "a", "b" or "tie", or A's score as a number
(1 win, 0.5 tie, 0 loss). Both rating systems report on the Elo scale: a 400-point gap means 10:1 odds.

- Elo (online): ratings updated match by match in the given order, so the result depends on the order.
- Bradley-Terry: the maximum-likelihood strengths, P(i beats j) = p_i / (p_i + p_j), a tie counting as half a
  win for each side, fitted by Newton's method on log-strengths. Order-free. The MLE exists only when every
  model both wins (or ties) against and loses (or ties) to the rest, in a connected way (Ford 1957);
  `prior` > 0 adds that many virtual wins and losses against a fixed average opponent, which always makes
  it exist.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from assay.errors import DataError, UsageError


def expit(x):  # type: ignore[no-untyped-def]
    """scipy.special.expit, imported on first use (scipy costs seconds at CLI start)."""
    from scipy.special import expit as _expit

    return _expit(x)

Outcome = str | float
Match = tuple[str, str, Outcome]
_BOOTSTRAP_PRIOR = 0.01  # a resample may leave a model without a win; a tiny prior keeps its rating finite


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    """One model's rating with its bootstrap confidence interval."""

    model: str
    rating: float
    ci_low: float
    ci_high: float
    matches: int


def outcome_score(outcome: Outcome) -> float:
    """A's score for one match: 'a' -> 1, 'b' -> 0, 'tie' -> 0.5, or a number in [0, 1]."""
    if isinstance(outcome, str):
        key = outcome.strip().lower()
        table = {"a": 1.0, "model_a": 1.0, "b": 0.0, "model_b": 0.0, "tie": 0.5, "draw": 0.5}
        if key not in table:
            raise UsageError(f"unknown match outcome {outcome!r}", hint="use 'a', 'b' or 'tie'")
        return table[key]
    value = float(outcome)
    if not 0.0 <= value <= 1.0:
        raise UsageError(f"a match outcome must be in [0, 1], got {value}")
    return value


def elo(
    matches: Sequence[Match], *, k: float = 32.0, scale: float = 400.0, initial: float = 1000.0
) -> dict[str, float]:
    """Online Elo ratings after playing `matches` in order (every model starts at `initial`)."""
    ratings: dict[str, float] = {}
    for a, b, outcome in matches:
        ra, rb = ratings.setdefault(a, initial), ratings.setdefault(b, initial)
        expected_a = 1.0 / (1.0 + 10.0 ** ((rb - ra) / scale))
        delta = k * (outcome_score(outcome) - expected_a)
        ratings[a], ratings[b] = ra + delta, rb - delta
    return ratings


def _tables(matches: Sequence[Match]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Models, wins[i, j] (ties count half to each) and games[i, j]."""
    models = sorted({m for a, b, _ in matches for m in (a, b)})
    index = {m: i for i, m in enumerate(models)}
    wins = np.zeros((len(models), len(models)))
    for a, b, outcome in matches:
        if a == b:
            raise UsageError(f"a match of {a!r} against itself cannot rank anything")
        s = outcome_score(outcome)
        wins[index[a], index[b]] += s
        wins[index[b], index[a]] += 1.0 - s
    return models, wins, wins + wins.T


def _mle_exists(wins: np.ndarray) -> bool:
    """Every model reaches every other through 'has beaten or tied' edges (strong connectivity)."""
    n = len(wins)
    beat = wins > 0
    for graph in (beat, beat.T):
        seen = {0}
        frontier = [0]
        while frontier:
            i = frontier.pop()
            for j in np.nonzero(graph[i])[0]:
                if int(j) not in seen:
                    seen.add(int(j))
                    frontier.append(int(j))
        if len(seen) < n:
            return False
    return True


def _log_likelihood(theta: np.ndarray, wins: np.ndarray, prior: float) -> float:
    diff = theta[:, None] - theta[None, :]
    ll = float((wins * -np.logaddexp(0.0, -diff)).sum())  # w_ij * log sigmoid(theta_i - theta_j)
    # `prior` virtual wins and losses against an opponent of strength 0
    return ll + prior * float((theta - 2.0 * np.logaddexp(0.0, theta)).sum())


def _newton_step(theta: np.ndarray, wins: np.ndarray, games: np.ndarray, prior: float) -> np.ndarray:
    sig = expit(theta[:, None] - theta[None, :])
    grad = wins.sum(axis=1) - (games * sig).sum(axis=1) + prior * (1.0 - 2.0 * expit(theta))
    curv = games * sig * (1.0 - sig)
    hess = curv - np.diag(curv.sum(axis=1) + 2.0 * prior * expit(theta) * expit(-theta))
    # without a prior the likelihood is flat along (1, ..., 1): the pseudo-inverse takes the minimal step
    step: np.ndarray = -np.linalg.pinv(hess) @ grad  # ascent direction: hess is negative (semi)definite
    return step


def bradley_terry(
    matches: Sequence[Match],
    *,
    scale: float = 400.0,
    anchor: float = 1000.0,
    prior: float = 0.0,
    max_iter: int = 200,
    tol: float = 1e-12,
) -> dict[str, float]:
    """Bradley-Terry MLE ratings on the Elo scale, centred so their mean is `anchor`.

    Fitted by Newton's method with backtracking on the (concave) log-likelihood of the log-strengths.
    """
    models, wins, games = _tables(matches)
    if not models:
        return {}
    if prior <= 0 and len(models) > 1 and not _mle_exists(wins):
        raise DataError(
            "the Bradley-Terry MLE does not exist: some model never wins (or never loses) against the rest",
            hint="pass prior=0.5 (virtual games against an average opponent) to regularise",
        )
    theta = np.zeros(len(models))
    current = _log_likelihood(theta, wins, prior)
    for _ in range(max_iter):
        step, t = _newton_step(theta, wins, games, prior), 1.0
        # a full Newton step can overshoot far from the optimum: halve it until the likelihood does not drop
        while True:
            candidate = theta + t * step
            value = _log_likelihood(candidate, wins, prior)
            if value >= current - 1e-12 or t < 1e-8:
                break
            t /= 2.0
        moved = float(np.max(np.abs(candidate - theta)))
        theta, current = candidate, value
        if moved < tol:
            break
    ratings = anchor + scale / math.log(10.0) * (theta - theta.mean())
    return {m: float(r) for m, r in zip(models, ratings, strict=True)}


def rate(
    matches: Sequence[Match],
    *,
    method: Literal["bradley_terry", "elo"] = "bradley_terry",
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    prior: float = 0.0,
    k: float = 32.0,
) -> list[Rating]:
    """Ratings with percentile bootstrap CIs (matches resampled with replacement), best first.

    For Elo each resample is also in a random order, so the interval reflects the order dependence too, and
    the reported rating is the bootstrap median (as Chatbot Arena does): one pass in the given order would
    let the last few matches decide it.
    """
    if not matches:
        raise UsageError("no matches to rate")
    point = elo(matches, k=k) if method == "elo" else bradley_terry(matches, prior=prior)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {m: [] for m in point}
    for _ in range(n_resamples):
        sample = [matches[i] for i in rng.integers(0, len(matches), size=len(matches))]
        if method == "elo":
            fit = elo(sample, k=k)
        else:
            fit = bradley_terry(sample, prior=max(prior, _BOOTSTRAP_PRIOR), tol=1e-9)
        for model, value in fit.items():
            draws[model].append(value)
    tail = (1.0 - confidence) / 2.0 * 100.0
    counts = {m: sum(1 for a, b, _ in matches if m in (a, b)) for m in point}
    out = []
    for model, value in point.items():
        if draws[model]:
            low, median, high = np.percentile(draws[model], [tail, 50.0, 100.0 - tail])
        else:
            low = median = high = math.nan
        rating = float(median) if method == "elo" else value
        out.append(
            Rating(model=model, rating=rating, ci_low=float(low), ci_high=float(high), matches=counts[model])
        )
    return sorted(out, key=lambda r: -r.rating)
