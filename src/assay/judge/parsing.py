"""Reading a verdict out of a judge's free text: a 1-10 rating, a JSON object, or a pairwise choice.

Each parser returns a `Parsed` value: the verdict, or `value=None` with the reason the text is malformed.
A parser never guesses: text that holds two different verdicts (a small judge often echoes the format
instructions, e.g. `"[[A]]" if A is better, "[[B]]" if ...`) is ambiguous, hence malformed, and the judge
retries it. Nothing here ever turns an unreadable answer into a 0, and nothing here raises: a judge's reply is
text assay does not control (a score of a thousand digits, NaN, nesting deeper than Python's recursion limit,
NUL bytes), so whatever it holds is a verdict or a reason why not.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["A", "B", "tie"]
OutputFormat = Literal["rating", "json", "pair"]

SCORE_MIN = 1.0
SCORE_MAX = 10.0

# FastChat's patterns: "[[7]]" first, a single-bracket "[7]" as the fallback
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")
_RATING_BACKUP = re.compile(r"(?<!\[)\[\s*(\d+(?:\.\d+)?)\s*\](?!\])")
_PAIR = re.compile(r"\[\[\s*([ABC])\s*\]\]")
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed judge answer: `value` (a score or a verdict) or None with `error` saying why."""

    value: float | Verdict | None
    reasoning: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.value is not None


def _number(text: str) -> float:
    """A decimal string as a float (any digits `\\d` matches; a number too large for a float is inf)."""
    try:
        return float(text)
    except (OverflowError, ValueError):
        return math.inf


def _in_range(score: float) -> str:
    if not SCORE_MIN <= score <= SCORE_MAX:
        return f"rating {score:g} is outside {SCORE_MIN:g}-{SCORE_MAX:g}"
    return ""


def _one_value(found: list[str], what: str) -> tuple[str | None, str]:
    """The single distinct value in `found`, or None with a reason (none found, or several)."""
    distinct = sorted(set(found))
    if not distinct:
        return None, f"no {what} found"
    if len(distinct) > 1:
        return None, f"ambiguous: several {what}s ({', '.join(distinct)})"
    return distinct[0], ""


def parse_rating(text: str) -> Parsed:
    """MT-Bench's `[[rating]]` format: the number inside double brackets (single brackets as a fallback)."""
    found = _RATING.findall(text) or _RATING_BACKUP.findall(text)
    raw, error = _one_value([str(_number(x)) for x in found], "[[rating]]")
    if raw is None:
        return Parsed(None, error=error)
    score = float(raw)
    if error := _in_range(score):
        return Parsed(None, error=error)
    # the explanation comes before the verdict in FastChat's prompts
    reasoning = text[: text.find("[")].strip() if "[" in text else text.strip()
    return Parsed(score, reasoning=reasoning)


def _json_candidates(text: str) -> list[str]:
    """Substrings that may be a JSON object: fenced blocks first, then every balanced {...} span."""
    out = [m.strip() for m in _FENCE.findall(text)]
    depth, start = 0, -1
    for i, ch in enumerate(text):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                out.append(text[start : i + 1])
    return out


def _short(value: object) -> str:
    """A value as the error quotes it: at most 60 characters (a judge may send a megabyte)."""
    try:
        text = repr(value)
    except ValueError:  # repr of an int past Python's digit limit
        text = f"<an integer of {value.bit_length()} bits>" if isinstance(value, int) else "<unprintable>"
    return text if len(text) <= 60 else text[:57] + "..."


def parse_json_score(text: str) -> Parsed:
    """The rubric format `{"score": X, "reasoning": "..."}`, possibly fenced or surrounded by prose."""
    scores: list[str] = []
    reasoning = ""
    problems: list[str] = []
    for candidate in _json_candidates(text):
        try:
            obj = json.loads(candidate)
        except (ValueError, RecursionError):  # not JSON; an integer past Python's digit limit; deep nesting
            continue
        if not isinstance(obj, dict) or "score" not in obj:
            continue
        value = obj["score"]
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            problems.append(f"score {_short(value)} is not a number")
            continue
        try:
            scores.append(str(float(value)))
        except OverflowError:  # an integer too large for a float: out of range, not unreadable
            scores.append(str(math.inf))
        except ValueError:
            problems.append(f"score {_short(value)} is not a number")
            continue
        reasoning = reasoning or str(obj.get("reasoning", ""))
    if not scores:
        return Parsed(None, error=problems[0] if problems else 'no JSON object with a "score" found')
    raw, error = _one_value(scores, "score")
    if raw is None:
        return Parsed(None, error=error)
    score = float(raw)
    if error := _in_range(score):
        return Parsed(None, error=error)
    return Parsed(score, reasoning=reasoning)


def parse_pair(text: str) -> Parsed:
    """FastChat's pairwise verdict: `[[A]]`, `[[B]]` or `[[C]]` (a tie), exactly one of them."""
    raw, error = _one_value(_PAIR.findall(text), "verdict")
    if raw is None:
        return Parsed(None, error=error)
    verdict: Verdict = "tie" if raw == "C" else ("A" if raw == "A" else "B")
    reasoning = text[: text.find("[[")].strip()
    return Parsed(verdict, reasoning=reasoning)


PARSERS = {"rating": parse_rating, "json": parse_json_score, "pair": parse_pair}


def parse(text: str, output_format: OutputFormat) -> Parsed:
    """Parse `text` with the parser for `output_format`."""
    return PARSERS[output_format](text)
