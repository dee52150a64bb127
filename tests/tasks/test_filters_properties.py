"""A generated answer is text assay does not control: the answer filters extract a string from any of it.

Property tests over the GSM8K filters as assay ships them (strict-match, flexible-extract) and the other steps,
with hostile text (tests/hostile.py); a filter step whose options cannot work is refused when the task loads.
"""

from __future__ import annotations

from importlib import resources

import pytest
import yaml
from hypothesis import given

from assay.errors import ConfigError
from assay.tasks.filters import apply_filter, validate_filter
from tests.hostile import BOUNDED, hostile

GSM8K = yaml.safe_load(resources.files("assay.tasks.builtin").joinpath("gsm8k.yaml").read_text())["filters"]
OTHER_STEPS = [
    {"take_until": ["\n\n", "Question:"]},
    {"replace": {r"(\d),(\d)": r"\1\2"}},
    {"strip": True},
    {"lowercase": True},
    {"regex": r"(\d+)\s*(\w*)", "select": 2, "group": 2, "fallback": "none"},
]
ANSWERS = ["The answer is {}.", "#### {}", "{} dollars", "So {} + {} = {}\n\nQuestion: next"]


@pytest.mark.parametrize("name", sorted(GSM8K))
@BOUNDED
@given(text=hostile(ANSWERS))
def test_gsm8k_filters_extract_a_string_from_any_answer(name: str, text: str) -> None:
    steps = GSM8K[name]
    validate_filter(steps)
    answer = apply_filter(steps, text)
    assert isinstance(answer, str) and len(answer) <= len(text) + len("[invalid]")


@BOUNDED
@given(text=hostile(ANSWERS))
def test_every_step_kind_takes_any_text(text: str) -> None:
    validate_filter(OTHER_STEPS)
    assert isinstance(apply_filter(OTHER_STEPS, text), str)


def test_the_strict_match_reads_the_answer_and_nothing_else() -> None:
    assert apply_filter(GSM8K["strict-match"], "so. The answer is 1,234.") == "1234"
    assert apply_filter(GSM8K["strict-match"], "The answer is \u0661\u0662.") == "[invalid]"  # [0-9] only
    huge = "9" * 5000
    assert apply_filter(GSM8K["flexible-extract"], f"x = {huge}\x00") == huge


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"regex": r"(\d+)", "group": 2}, "group 2 is not one of its groups (0-1)"),
        ({"regex": r"\d+", "group": "x"}, "group 'x' is not one of its groups"),
        ({"regex": r"\d+", "select": "middle"}, "select 'middle' is not first, last or an index"),
    ],
)
def test_a_regex_step_that_cannot_work_is_refused_at_load(step: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_filter([step])
    assert message in info.value.message
