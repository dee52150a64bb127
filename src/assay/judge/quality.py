"""Judge quality: how well a judge's verdicts agree with human labels, and how biased the judge is.

    report = agreement(read_rows(judgments_path), read_rows(human_path))

Judge rows follow assay.judge.rows; human rows are the human app's export (several annotators per item are
combined: the mean score, or the majority winner with a split vote counted as a tie) or any JSONL with
`item_id` plus `score` (single) or `winner` ("a"/"b"/"tie", pairwise). Items the judge left unscored are
excluded from agreement and counted. The numbers themselves come from assay.stats.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scipy import stats as sps

from assay.data.sources import json_lines, read_text
from assay.errors import DataError, UsageError
from assay.stats.agreement import accuracy, cohen_kappa
from assay.stats.bias import length_bias, longer_wins_rate, position_bias

Row = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementReport:
    """Agreement of a judge with humans on the items both labelled, plus the judge's biases."""

    mode: str
    n_items: int  # items labelled by both (and scored by the judge)
    n_judge_unscored: int  # items the human labelled but the judge could not score
    n_missing: int  # items the human labelled that have no judge row
    accuracy: float  # exact agreement (single: scores rounded to integers)
    kappa: float  # Cohen's kappa, unweighted
    extra: dict[str, float] = field(
        default_factory=dict
    )  # mode-specific figures (weighted kappa, biases, ...)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def read_rows(path: Path) -> list[Row]:
    """JSONL rows (each a JSON object); a malformed line is an error naming the file and line."""
    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    rows = []
    for where, row in json_lines(read_text(path), str(path)):
        if "item_id" not in row:
            raise DataError(f"{where}: expected a JSON object with an item_id")
        rows.append(row)
    return rows


def _mode(rows: Sequence[Row], what: str) -> str:
    modes = {r.get("mode") or ("single" if "score" in r else "pairwise") for r in rows}
    if len(modes) != 1:
        raise DataError(
            f"{what} mixes modes ({', '.join(sorted(map(str, modes)))})",
            hint="compare single ratings and pairwise verdicts separately",
        )
    return str(modes.pop())


def human_labels(rows: Sequence[Row], mode: str) -> dict[str, float | str]:
    """One label per item: mean score (single) or majority winner (pairwise; a split vote is a tie)."""
    grouped: dict[str, list[Any]] = {}
    key = "score" if mode == "single" else "winner"
    for row in rows:
        if row.get(key) is not None:
            grouped.setdefault(str(row["item_id"]), []).append(row[key])
    labels: dict[str, float | str] = {}
    for item, values in grouped.items():
        if mode == "single":
            labels[item] = sum(float(v) for v in values) / len(values)
        else:
            top = Counter(str(v).lower() for v in values).most_common()
            labels[item] = "tie" if len(top) > 1 and top[0][1] == top[1][1] else top[0][0]
    return labels


def agreement(judge_rows: Sequence[Row], human_rows: Sequence[Row]) -> AgreementReport:
    """Accuracy and Cohen's kappa against the human labels, and the judge's position and length bias."""
    if not judge_rows or not human_rows:
        raise UsageError("agreement needs judge rows and human rows")
    mode = _mode(judge_rows, "the judgments file")
    if (human_mode := _mode(human_rows, "the human file")) != mode:
        raise UsageError(f"the judgments are {mode} but the human labels are {human_mode}")
    humans = human_labels(human_rows, mode)
    judged = {str(r["item_id"]): r for r in judge_rows}
    missing = [i for i in humans if i not in judged]
    key = "score" if mode == "single" else "winner"
    both = [i for i in humans if i in judged and judged[i].get(key) is not None]
    if not both:
        raise UsageError(
            "no item has both a judge verdict and a human label", hint="item_id values must match"
        )
    judge_values: list[Any]
    human_values: list[Any]
    if mode == "single":
        judge_values = [_round(float(judged[i]["score"])) for i in both]
        human_values = [_round(float(humans[i])) for i in both]
        extra = _single_extra(judge_values, human_values)
    else:
        judge_values = [str(judged[i]["winner"]) for i in both]
        human_values = [str(humans[i]) for i in both]
        extra = {}
        rows = [judged[i] for i in both]
        if all("len_a" in r and "len_b" in r for r in rows):
            # the humans' preference for longer answers on the same items, next to the judge's
            lengths = [float(r["len_a"]) for r in rows], [float(r["len_b"]) for r in rows]
            extra["human_longer_wins_rate"] = longer_wins_rate(*lengths, human_values)
    extra |= judge_bias(judge_rows)
    return AgreementReport(
        mode=mode,
        n_items=len(both),
        n_judge_unscored=len(humans) - len(missing) - len(both),
        n_missing=len(missing),
        accuracy=accuracy(judge_values, human_values),
        kappa=cohen_kappa(judge_values, human_values),
        extra=extra,
    )


def _round(x: float) -> int:
    """Half up, not Python's half-to-even: a mean human score of 6.5 is a 7."""
    return math.floor(x + 0.5)


def _single_extra(judge: list[int], human: list[int]) -> dict[str, float]:
    extra = {
        "kappa_quadratic": cohen_kappa(judge, human, weights="quadratic"),
        "within_1": sum(abs(a - b) <= 1 for a, b in zip(judge, human, strict=True)) / len(judge),
        "mean_abs_error": sum(abs(a - b) for a, b in zip(judge, human, strict=True)) / len(judge),
    }
    if len(judge) >= 3 and len(set(judge)) > 1 and len(set(human)) > 1:
        extra["spearman"] = float(sps.spearmanr(judge, human)[0])
    return extra


def judge_bias(rows: Sequence[Row]) -> dict[str, float]:
    """A judge's biases from its own rows, no human labels needed.

    single: Spearman correlation of answer length with score (`length_score_spearman`, with its p-value);
    pairwise: how often the verdict changed with the order (`position_bias_rate`), the share of pairs where
    the first or the second position won both times, and how often the longer answer won a decided pair.
    """
    extra: dict[str, float] = {}
    if _mode(rows, "the judgments") == "single":
        scored = [r for r in rows if r.get("score") is not None and r.get("answer_length") is not None]
        if len(scored) >= 3:
            corr = length_bias(
                [float(r["answer_length"]) for r in scored], [float(r["score"]) for r in scored]
            )
            extra |= {"length_score_spearman": corr.r, "length_score_p": corr.p_value}
        return extra
    ordered = [r for r in rows if r.get("first_order") is not None and r.get("second_order") is not None]
    if ordered:
        bias = position_bias([r["first_order"] for r in ordered], [r["second_order"] for r in ordered])
        extra |= {
            "position_bias_rate": bias.inconsistent_rate,
            "first_position_rate": bias.first_position_rate,
            "second_position_rate": bias.second_position_rate,
        }
    decided = [r for r in rows if r.get("winner") is not None and "len_a" in r and "len_b" in r]
    if decided:
        lengths = [float(r["len_a"]) for r in decided], [float(r["len_b"]) for r in decided]
        extra["judge_longer_wins_rate"] = longer_wins_rate(*lengths, [str(r["winner"]) for r in decided])
    return extra
