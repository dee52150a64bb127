"""A sample row as the explorer shows it: the samples file's row plus what the page needs to mark.

chosen      {metric: choice index} for multiple choice: acc and acc_norm may pick different choices
fold        the prompt's leading part (few-shot examples, instructions) shown folded; `question` the rest
highlight   the extracted answer(s) to mark inside the generated text
"""

from __future__ import annotations

from typing import Any

from assay.metrics.choice import CHOICE_METRICS, choice_scores

FEWSHOT_DELIMITER = "\n\n"  # what separates few-shot examples from each other and from the question


def chosen_by_metric(row: dict[str, Any]) -> dict[str, int]:
    """The choice each multiple-choice metric picked, by asking the scoring function itself which target
    it would count as right (so the page never re-derives acc_norm's normalisation)."""
    lls, choices = row.get("loglikelihoods") or [], row.get("choices") or []
    if not lls or len(lls) != len(choices):
        return {}
    out: dict[str, int] = {}
    for metric in CHOICE_METRICS:
        if metric not in (row.get("scores") or {}):
            continue
        for k in range(len(choices)):
            _, scores = choice_scores(lls, choices, k, [metric])
            if scores and scores[0].value == 1.0:
                out[metric] = k
                break
    return out


def split_prompt(prompt: str) -> tuple[str, str]:
    """(folded leading part, the question): the question is the prompt's last paragraph."""
    head, sep, tail = prompt.rstrip("\n").rpartition(FEWSHOT_DELIMITER)
    if not sep or not tail.strip():
        return "", prompt
    return head + sep, prompt[len(head) + len(sep) :]


def highlights(row: dict[str, Any]) -> list[str]:
    """The answer extracted from the generated text (each filter's), to mark where it appears in it."""
    extracted = (row.get("extras") or {}).get("extracted") or {}
    found = [str(v) for v in extracted.values() if isinstance(v, str | int | float) and str(v).strip()]
    prediction = row.get("prediction")
    outputs = row.get("outputs") or []
    if not found and isinstance(prediction, str) and prediction.strip() and outputs and prediction != outputs[0]:
        found.append(prediction)
    return list(dict.fromkeys(found))


def for_page(row: dict[str, Any], number: int) -> dict[str, Any]:
    """The row with the marks the page shows (the row's own fields are kept as the file has them)."""
    fold, question = split_prompt(str(row.get("prompt", "")))
    return {
        **row,
        "row": number,
        "chosen": chosen_by_metric(row),
        "fold": fold,
        "question": question,
        "highlight": highlights(row),
    }
