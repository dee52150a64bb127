"""Multiple-choice scoring from per-choice loglikelihoods, as lm-evaluation-harness defines it.

acc       1 if the choice with the highest loglikelihood is the target (first one wins ties)
acc_norm  the same after dividing each loglikelihood by its choice's length in characters
"""

from __future__ import annotations

from collections.abc import Sequence

from assay.records import Score


def argmax(values: Sequence[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def choice_scores(
    loglikelihoods: Sequence[float], choices: Sequence[str], target: int, metrics: Sequence[str]
) -> tuple[int, tuple[Score, ...]]:
    """(predicted index, scores) for one multiple-choice sample."""
    pred = argmax(loglikelihoods)
    scores = []
    for name in metrics:
        if name == "acc":
            scores.append(Score(metric="acc", value=float(pred == target)))
        elif name == "acc_norm":
            # lm-eval divides by the length of the choice text (without the target delimiter)
            normed = [ll / max(len(c), 1) for ll, c in zip(loglikelihoods, choices, strict=True)]
            scores.append(Score(metric="acc_norm", value=float(argmax(normed) == target)))
    return pred, tuple(scores)


CHOICE_METRICS = ("acc", "acc_norm")
