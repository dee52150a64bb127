"""Per-sample text metrics: pure functions `f(prediction, reference, **options) -> float`.

Each takes one prediction and one reference string and returns a number; the catalog
(assay.metrics.catalog) records each one's direction, range and corpus aggregation.

Ill-defined cases are decided here, explicitly: two identical strings always get the metric's best value,
even when they hold no tokens (sacrebleu and rouge-score return 0 for two empty strings, which would make
"identical" look like "nothing in common").
"""

from __future__ import annotations

import re
import string

from rapidfuzz.distance import Levenshtein

_ARTICLES = re.compile(r"\b(a|an|the)\b", flags=re.IGNORECASE)
_PUNCT_TABLE = str.maketrans("", "", string.punctuation)
# rouge-score's default tokenizer: lowercase, anything but [a-z0-9] separates tokens
_ROUGE_SPLIT = re.compile(r"[^a-z0-9]+")


def normalize(
    text: str,
    *,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    ignore_articles: bool = False,
    ignore_whitespace: bool = False,
) -> str:
    """Normalize `text` for comparison; with every option on, this is SQuAD's answer normalization.

    Leading and trailing whitespace is always stripped. `ignore_whitespace` collapses runs of whitespace
    to one space (it does not delete word boundaries).
    """
    if ignore_case:
        text = text.lower()
    if ignore_punctuation:
        text = text.translate(_PUNCT_TABLE)
    if ignore_articles:
        text = _ARTICLES.sub(" ", text)
    if ignore_whitespace or ignore_articles:
        # removing an article leaves double spaces that would otherwise decide the comparison
        text = " ".join(text.split())
    return text.strip()


def exact_match(
    prediction: str,
    reference: str,
    *,
    ignore_case: bool = False,
    ignore_punctuation: bool = False,
    ignore_articles: bool = False,
    ignore_whitespace: bool = False,
) -> float:
    """1.0 when the normalized prediction equals the normalized reference, else 0.0."""
    opts = {
        "ignore_case": ignore_case,
        "ignore_punctuation": ignore_punctuation,
        "ignore_articles": ignore_articles,
        "ignore_whitespace": ignore_whitespace,
    }
    return float(normalize(prediction, **opts) == normalize(reference, **opts))


def exact_match_normalized(prediction: str, reference: str) -> float:
    """Exact match after SQuAD normalization (case, punctuation, articles and whitespace ignored)."""
    return exact_match(
        prediction,
        reference,
        ignore_case=True,
        ignore_punctuation=True,
        ignore_articles=True,
        ignore_whitespace=True,
    )


def edit_distance(prediction: str, reference: str) -> float:
    """Levenshtein distance in characters (insertions, deletions, substitutions each cost 1)."""
    return float(Levenshtein.distance(prediction, reference))


def edit_similarity(prediction: str, reference: str) -> float:
    """1 - Levenshtein distance / length of the longer string, in [0, 1]; two empty strings give 1."""
    return float(Levenshtein.normalized_similarity(prediction, reference))


def bleu(prediction: str, reference: str, *, tokenize: str = "13a", lowercase: bool = False) -> float:
    """Sentence BLEU in [0, 100], as sacrebleu's `sentence_bleu` (exp smoothing, effective order)."""
    if prediction == reference:
        return 100.0
    import sacrebleu  # imported here: it takes ~0.1 s and most users of assay.metrics never need it

    score = sacrebleu.sentence_bleu(prediction, [reference], tokenize=tokenize, lowercase=lowercase).score
    # sacrebleu's brevity penalty and exp() can leave 100.00000000000004 for a perfect match
    return min(100.0, max(0.0, float(score)))


def chrf(
    prediction: str, reference: str, *, char_order: int = 6, word_order: int = 0, beta: int = 2
) -> float:
    """Sentence chrF in [0, 100] (chrF++ with word_order=2), as sacrebleu's `sentence_chrf`."""
    if prediction == reference:
        return 100.0
    import sacrebleu

    score = sacrebleu.sentence_chrf(
        prediction, [reference], char_order=char_order, word_order=word_order, beta=beta
    ).score
    return min(100.0, max(0.0, float(score)))


def _rouge_tokens(text: str) -> list[str]:
    return [t for t in _ROUGE_SPLIT.split(text.lower()) if t]


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time)."""
    if len(a) < len(b):
        a, b = b, a
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, start=1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(prediction: str, reference: str) -> float:
    """ROUGE-L F1 in [0, 1] over rouge-score's default tokens (lowercased alphanumeric runs, no stemming)."""
    if prediction == reference:
        return 1.0
    pred, ref = _rouge_tokens(prediction), _rouge_tokens(reference)
    if not pred or not ref:
        return 0.0
    lcs = lcs_length(pred, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(pred), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)
