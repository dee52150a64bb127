"""What lm-eval 0.4.13's task modules import from libraries that no longer have it.

- Fifty-two of lm-eval's tasks (coqa, xquad, scrolls, super_glue's record, norquad, galician and catalan sets...)
import `transformers.data.metrics.squad_metrics`, which transformers 5 removed; lm-eval's own loader fails on
every one of them with the transformers assay installs. When (and only when) that module is missing, assay
provides it with the three functions those tasks call, implementing the SQuAD evaluation's answer
normalization, exact match and token F1 as the SQuAD v2.0 evaluation defines them
(`tests/lmeval/test_compat.py` checks them against the definition's cases).
- Five (basqueglue's) import `datasets.load_metric`, which datasets 3 removed in favour of Hugging Face
  `evaluate.load`, its successor with the same call; assay points the old name at it.
"""

from __future__ import annotations

import re
import string
import sys
import types
from collections import Counter
from typing import Any

SQUAD = "transformers.data.metrics.squad_metrics"
_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, drop punctuation, drop the articles a/an/the, collapse whitespace (in that order)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _tokens(text: str) -> list[str]:
    return normalize_answer(text).split() if text else []


def compute_exact(a_gold: str, a_pred: str) -> int:
    """1 if the two answers are equal after normalization, else 0."""
    return int(normalize_answer(a_gold) == normalize_answer(a_pred))


def compute_f1(a_gold: str, a_pred: str) -> float | int:
    """Token-overlap F1 of the normalized answers; an empty answer scores 1 only against an empty one (the
    definition's integer 0/1 where it gives one, so logged samples read the same)."""
    gold, pred = _tokens(a_gold), _tokens(a_pred)
    if not gold or not pred:
        return int(gold == pred)
    same = sum((Counter(gold) & Counter(pred)).values())
    if same == 0:
        return 0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def install() -> None:
    """Make what lm-eval's task modules import importable where the installed libraries dropped it."""
    _install_squad()
    _install_load_metric()


def _install_load_metric() -> None:
    try:
        import datasets
    except ImportError:
        return
    if not hasattr(datasets, "load_metric"):

        def load_metric(path: str, *args: Any, **kwargs: Any) -> Any:
            import evaluate

            return evaluate.load(path, *args, **kwargs)

        datasets.load_metric = load_metric  # type: ignore[attr-defined]


def _install_squad() -> None:
    if SQUAD in sys.modules:
        return
    try:
        __import__(SQUAD)
        return
    except ImportError:
        pass
    metrics = sys.modules.get("transformers.data.metrics") or types.ModuleType("transformers.data.metrics")
    squad = types.ModuleType(SQUAD, __doc__)
    for fn in (normalize_answer, compute_exact, compute_f1):
        setattr(squad, fn.__name__, fn)
    metrics.squad_metrics = squad  # type: ignore[attr-defined]
    sys.modules.setdefault("transformers.data.metrics", metrics)
    sys.modules[SQUAD] = squad
    try:
        import transformers.data as data

        data.metrics = metrics  # type: ignore[attr-defined]
    except ImportError:  # no transformers at all: the module stands alone
        pass
