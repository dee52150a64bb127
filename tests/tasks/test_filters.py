"""Declarative answer filters: each step, load-time validation, and agreement with lm-eval on GSM8K."""

from __future__ import annotations

import pytest

from assay.errors import ConfigError
from assay.metrics.catalog import get_metric
from assay.tasks.catalog import all_tasks
from assay.tasks.filters import INVALID, apply_filter, validate_filter

# completions in the shapes small models produce: clean, rambling, with $ and commas, none, several numbers
COMPLETIONS = [
    " Natalia sold 48/2 = 24 clips in May. 48 + 24 = 72. The answer is 72.",
    " She pays $1,250 in total. The answer is $1,250.",
    " The answer is 1,000,000.\n\nQ: next",
    " 5 + 3 = 8 and then 8 * 2 = 16",
    " I do not know.",
    " The answer is -3. The answer is 4.",
    " It costs 0.5 dollars, so 2.50 in all.",
    " The answer is 12 apples.",
    " #### 42",
    " The answer is 7",
    "",
    " Step 1: 10. Step 2: 20. So the total is $30.",
]


def test_regex_selects_first_last_or_an_index_and_falls_back() -> None:
    text = "a=1, b=22, c=333"
    assert apply_filter([{"regex": r"\d+"}], text) == "1"
    assert apply_filter([{"regex": r"\d+", "select": "last"}], text) == "333"
    assert apply_filter([{"regex": r"\d+", "select": 1}], text) == "22"
    assert apply_filter([{"regex": r"(\w)=(\d+)", "group": 2, "select": "last"}], text) == "333"
    assert apply_filter([{"regex": r"x(\d)"}], text) == INVALID
    assert apply_filter([{"regex": r"\d+", "select": 5, "fallback": "none"}], text) == "none"


def test_text_steps_compose_in_order() -> None:
    steps = [
        {"take_until": ["\n\n", "Q:"]},
        {"replace": {r"(\d),(\d)": r"\1\2"}},
        {"remove": [r"\$"]},
        {"strip": True},
        {"lowercase": True},
    ]
    assert apply_filter(steps, "  The Total is $1,250.\n\nQ: more") == "the total is 1250."
    assert apply_filter([{"strip": ".! "}], " done!. ") == "done"
    assert apply_filter([{"strip": False}, {"lowercase": False}], " Keep ") == " Keep "


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([{"regx": "a"}], "did you mean 'regex'"),
        ([{"regex": "a", "selct": "last"}], "unknown option"),
        ([{"regex": "a", "strip": True}], "exactly one step kind"),
        ([{"regex": "(unclosed"}], "does not compile"),
        ([{"remove": ["[bad"]}], "does not compile"),
        ([{"replace": ["a"]}], "takes a mapping"),
        (["strip"], "must be a mapping"),
    ],
)
def test_mistakes_in_a_filter_are_config_errors(steps: list, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_filter(steps)


def _lm_eval_filter(pattern: str, group_select: int, text: str) -> str:
    from lm_eval.filters.extraction import RegexFilter

    return list(RegexFilter(regex_pattern=pattern, group_select=group_select).apply([[text]], [{}]))[0][0]


def test_gsm8k_regex_steps_extract_what_lm_eval_extracts() -> None:
    pytest.importorskip("lm_eval")
    spec = all_tasks()["gsm8k"]
    for name, group_select in [("strict-match", 0), ("flexible-extract", -1)]:
        regex_step = spec.filters[name][0]
        for text in COMPLETIONS:
            ours = apply_filter([regex_step], text)
            assert ours == _lm_eval_filter(regex_step["regex"], group_select, text), (name, text)


def test_gsm8k_scores_equal_lm_eval_exact_match_with_regexes_to_ignore() -> None:
    pytest.importorskip("lm_eval")
    from lm_eval.api.metrics import exact_match_hf_evaluate

    spec = all_tasks()["gsm8k"]
    for name in spec.filters:
        validate_filter(spec.filters[name])
    references = ["72", "1,250", "1,000,000", "16", "5", "-3", "2.50", "12", "42", "7", "0", "30"]
    ignore = [",", r"\$", "(?s).*#### ", r"\.$"]
    group_of = {"strict-match": 0, "flexible-extract": -1}
    for ref in spec.metrics:
        assert ref.filter is not None
        pattern = spec.filters[ref.filter][0]["regex"]
        hits = 0
        for text, answer in zip(COMPLETIONS, references, strict=True):
            # the reference as the task builds it (doc_to_target drops thousands separators)
            target = answer.replace(",", "")
            ours = get_metric(ref.name).fn(apply_filter(spec.filters[ref.filter], text), target, **ref.options)
            extracted = _lm_eval_filter(pattern, group_of[ref.filter], text)
            theirs = exact_match_hf_evaluate([extracted], [answer], regexes_to_ignore=ignore, ignore_case=True)
            assert ours == theirs["exact_match"], (ref.filter, text)
            hits += int(ours)
        assert 3 <= hits < len(COMPLETIONS)  # the comparison saw both outcomes
