"""MT-Bench judgments -> SampleResults (one per question) and metrics (overall, per turn, per category).

Scores are averaged over turn-level judgments, as FastChat does; unscored judgments are skipped and counted
in `unscored_rate`, never averaged in as 0. A metric with no scored judgment at all is left out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from assay.judge.judge import Judgment, PairJudgment
from assay.judge.mtbench import Question
from assay.metrics import aggregate
from assay.records import MetricValue, SampleResult, Score
from assay.stats.bias import position_bias


def mean_metric(values: Sequence[float | None], *, higher_is_better: bool = True) -> MetricValue | None:
    """Mean of the scored values with its standard error (None when nothing is scored)."""
    return aggregate.mean_metric([v for v in values if v is not None], higher_is_better)


def _rate(flags: Sequence[bool]) -> MetricValue:
    n = len(flags)
    p = sum(flags) / n
    return MetricValue(
        value=p, stderr=math.sqrt(p * (1 - p) / n), n=n, higher_is_better=False, stderr_method="binomial"
    )


def _grouped(
    name: str, questions: Sequence[Question], per_turn: Sequence[tuple[float | None, float | None]]
) -> dict[str, MetricValue]:
    """`name`, `name_turn1`, `name_turn2` and `name_<category>` over turn-level values."""
    groups: dict[str, list[float | None]] = {name: [], f"{name}_turn1": [], f"{name}_turn2": []}
    for q, (t1, t2) in zip(questions, per_turn, strict=True):
        groups[name] += [t1, t2]
        groups[f"{name}_turn1"].append(t1)
        groups[f"{name}_turn2"].append(t2)
        groups.setdefault(f"{name}_{q.category}", []).extend([t1, t2])
    out = {}
    for key, values in groups.items():
        metric = mean_metric(values)
        if metric is not None:
            out[key] = metric
    return out


def single_metrics(questions: Sequence[Question], judgments: Sequence[Judgment]) -> dict[str, MetricValue]:
    """score / score_turn1 / score_turn2 / score_<category> (1-10) and unscored_rate."""
    by_id = {j.item_id: j for j in judgments}
    per_turn = [
        (_value(by_id[f"{q.question_id}/turn1"]), _value(by_id[f"{q.question_id}/turn2"])) for q in questions
    ]
    metrics = _grouped("score", questions, per_turn)
    metrics["unscored_rate"] = _rate([not isinstance(j.value, float) for j in judgments])
    return metrics


def pair_metrics(questions: Sequence[Question], pairs: Sequence[PairJudgment]) -> dict[str, MetricValue]:
    """win_rate (ties 0.5) overall / per turn / per category, position_bias_rate and unscored_rate."""
    by_id = {p.item_id: p for p in pairs}
    per_turn = [
        (by_id[f"{q.question_id}/turn1"].win_score(), by_id[f"{q.question_id}/turn2"].win_score())
        for q in questions
    ]
    metrics = _grouped("win_rate", questions, per_turn)
    both = [p for p in pairs if p.first_order is not None and p.second_order is not None]
    if both:
        bias = position_bias([str(p.first_order) for p in both], [str(p.second_order) for p in both])
        metrics["position_bias_rate"] = MetricValue(
            value=bias.inconsistent_rate,
            stderr=None,
            n=bias.n,
            higher_is_better=False,
            stderr_method="share of pairs whose verdict changed with the order",
        )
    metrics["unscored_rate"] = _rate([p.winner is None for p in pairs])
    return metrics


def category_turn_means(
    questions: Sequence[Question], judgments: Sequence[Judgment]
) -> dict[str, dict[str, float | None]]:
    """{"turn 1": {category: mean score}, "turn 2": {...}} for the plot; None where nothing was scored."""
    by_id = {j.item_id: j for j in judgments}
    out: dict[str, dict[str, float | None]] = {}
    for turn in (1, 2):
        values: dict[str, list[float | None]] = {}
        for q in questions:
            values.setdefault(q.category, []).append(_value(by_id[f"{q.question_id}/turn{turn}"]))
        out[f"turn {turn}"] = {c: (m.value if (m := mean_metric(v)) else None) for c, v in values.items()}
    return out


def _value(j: Judgment) -> float | None:
    return j.value if isinstance(j.value, float) else None


def single_results(
    model: str,
    questions: Sequence[Question],
    answers: Sequence[tuple[str, str]],
    judgments: Sequence[Judgment],
    task: str = "mtbench",
) -> list[SampleResult]:
    """One SampleResult per question: both answers, a score per turn and their mean (when both scored)."""
    by_id = {j.item_id: j for j in judgments}
    out = []
    for q, (a1, a2) in zip(questions, answers, strict=True):
        j1, j2 = by_id[f"{q.question_id}/turn1"], by_id[f"{q.question_id}/turn2"]
        s1, s2 = j1.to_score("score_turn1"), j2.to_score("score_turn2")
        both = s1.value is not None and s2.value is not None
        mean = Score(
            metric="score",
            value=(s1.value + s2.value) / 2 if both else None,  # type: ignore[operator]
            detail="" if both else "a turn is unscored",
        )
        out.append(
            SampleResult(
                sample_id=f"mtbench/{q.question_id}",
                task=task,
                model=model,
                prompt=q.turns[0],
                target=q.reference or "",
                prediction=(a1, a2),
                scores=(mean, s1, s2),
                outputs=(a1, a2),
                extras={
                    "category": q.category,
                    "question_id": q.question_id,
                    "turns": list(q.turns),
                    "temperature": q.temperature,
                    "judge": [_judge_extra(j1), _judge_extra(j2)],
                },
            )
        )
    return out


def pair_results(
    model: str,
    baseline: str,
    questions: Sequence[Question],
    answers: Sequence[tuple[str, str]],
    baseline_answers: Sequence[tuple[str, str]],
    pairs: Sequence[PairJudgment],
    task: str,
) -> list[SampleResult]:
    """One SampleResult per question with the model's win score per turn against the baseline."""
    by_id = {p.item_id: p for p in pairs}
    out = []
    for q, (a1, a2), (b1, b2) in zip(questions, answers, baseline_answers, strict=True):
        p1, p2 = by_id[f"{q.question_id}/turn1"], by_id[f"{q.question_id}/turn2"]
        scores = tuple(_pair_score(p, f"win_turn{k}") for k, p in ((1, p1), (2, p2)))
        out.append(
            SampleResult(
                sample_id=f"mtbench/{q.question_id}",
                task=task,
                model=model,
                prompt=q.turns[0],
                target=q.reference or "",
                prediction=(a1, a2),
                scores=scores,
                outputs=(a1, a2),
                extras={
                    "category": q.category,
                    "question_id": q.question_id,
                    "turns": list(q.turns),
                    "baseline": baseline,
                    "baseline_outputs": [b1, b2],
                    "judge": [_pair_extra(p1), _pair_extra(p2)],
                },
            )
        )
    return out


def _pair_score(p: PairJudgment, metric: str) -> Score:
    if p.winner is None:
        failed = [j for j in (p.forward, p.backward) if j.value is None]
        detail = "; ".join(f"{j.attempts} attempt(s): {j.error}" for j in failed)
        return Score(metric=metric, value=None, detail=f"judge output unparseable ({detail})")
    return Score(
        metric=metric, value=p.win_score(), detail="" if p.consistent else "inconsistent: counted as tie"
    )


def _judge_extra(j: Judgment) -> dict[str, object]:
    return {
        "prompt": j.prompt_name,
        "value": j.value,
        "reasoning": j.reasoning,
        "attempts": j.attempts,
        "outputs": list(j.outputs),
        "error": j.error,
    }


def _pair_extra(p: PairJudgment) -> dict[str, object]:
    return {
        "winner": p.winner,
        "consistent": p.consistent,
        "forward": _judge_extra(p.forward),
        "backward": _judge_extra(p.backward),
    }
