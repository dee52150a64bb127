"""Parsing judge outputs: real-looking strings from strong and weak judges, and how they go wrong."""

from __future__ import annotations

import pytest

from assay.judge.parsing import parse, parse_json_score, parse_pair, parse_rating


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The answer is accurate and well organised.\n\nRating: [[8]]", 8.0),
        ("Explanation... Rating: [[7.5]]", 7.5),
        ("Rating: [[ 3 ]]", 3.0),
        ("The response is wrong. Rating: [4]", 4.0),  # FastChat's single-bracket fallback
        ("Rating: [[10]] and, to be clear, [[10]].", 10.0),  # repeated but consistent
    ],
)
def test_rating_reads_the_bracketed_number(text: str, expected: float) -> None:
    parsed = parse_rating(text)
    assert parsed.ok and parsed.value == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("I think this answer is pretty good, maybe a seven.", "no [[rating]] found"),
        (
            'rate the response by strictly following this format: "[[rating]]", for example',
            "no [[rating]] found",
        ),
        ("Rating: [[5]] ... on reflection Rating: [[6]]", "ambiguous"),
        ("Rating: [[42]]", "outside"),
        ("Rating: [[0]]", "outside"),
        ("", "no [[rating]] found"),
    ],
)
def test_rating_malformed_is_unscored_with_a_reason(text: str, reason: str) -> None:
    parsed = parse_rating(text)
    assert parsed.value is None and not parsed.ok
    assert reason in parsed.error


def test_rating_keeps_the_explanation_as_reasoning() -> None:
    parsed = parse_rating("Clear and correct.\nRating: [[9]]")
    assert parsed.reasoning == "Clear and correct.\nRating:"


@pytest.mark.parametrize(
    ("text", "score", "reasoning"),
    [
        ('{"score": 7, "reasoning": "Mostly right."}', 7.0, "Mostly right."),
        ('Here is my grade:\n```json\n{"score": 3, "reasoning": "Wrong year."}\n```', 3.0, "Wrong year."),
        ('Sure! {"score": "6", "reasoning": "ok"} Hope this helps.', 6.0, "ok"),
        ('{"reasoning": "nested {braces} inside", "score": 9.5}', 9.5, "nested {braces} inside"),
    ],
)
def test_json_score(text: str, score: float, reasoning: str) -> None:
    parsed = parse_json_score(text)
    assert parsed.value == score
    assert parsed.reasoning == reasoning


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"score": <integer from 1 to 10>, "reasoning": "..."}', 'no JSON object with a "score"'),
        ('{"score": "excellent", "reasoning": "..."}', "not a number"),
        ('{"score": true}', "not a number"),
        ('{"score": 11, "reasoning": "off the scale"}', "outside"),
        ('{"score": 4} and then {"score": 8}', "ambiguous"),
        ("The answer deserves a 7.", 'no JSON object with a "score"'),
    ],
)
def test_json_malformed(text: str, reason: str) -> None:
    parsed = parse_json_score(text)
    assert parsed.value is None
    assert reason in parsed.error


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Assistant A is more accurate.\n\n[[A]]", "A"),
        ("B follows the instructions better. Final verdict: [[B]]", "B"),
        ("Both are equally good. [[C]]", "tie"),
    ],
)
def test_pair_verdicts(text: str, verdict: str) -> None:
    assert parse_pair(text).value == verdict


def test_pair_echoing_the_instructions_is_ambiguous() -> None:
    echoed = 'output your final verdict: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better'
    parsed = parse_pair(echoed)
    assert parsed.value is None and "ambiguous" in parsed.error


def test_pair_without_a_verdict() -> None:
    assert parse_pair("Assistant A is better.").error == "no verdict found"


def test_parse_dispatches_on_format() -> None:
    assert parse("[[6]]", "rating").value == 6.0
    assert parse('{"score": 6}', "json").value == 6.0
    assert parse("[[C]]", "pair").value == "tie"
