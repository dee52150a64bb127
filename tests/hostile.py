"""Hypothesis strategies for text assay does not control: what a model, a judge or a user's file may hold.

Arbitrary text and bytes, numbers past a float's range and past Python's integer-string limit, NaN and
infinities, nesting deeper than the recursion limit, very long lines, invalid UTF-8 (decoded the ways assay
may meet it: with surrogate escapes or replacement characters), NUL bytes and digits of other scripts, each on
its own and spliced into a template of the format a parser looks for. Used by the property tests of every
parser of such text.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# bounded: every property test of parsers together stays within a few seconds per file. Lines stop at 30k
# characters: a filter pattern such as GSM8K's "(?s).*#### " is quadratic in the text (300k digits: 28 s)
BOUNDED = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])

UNICODE_DIGITS = "0123456789\u0660\u0667\u06f9\u0967\u09ea\u0e53\uff17\U0001d7d8\u00b2\u2167"

huge_integers = st.integers(min_value=300, max_value=6000).map(lambda n: "1" + "0" * n)
special_numbers = st.sampled_from(
    ["NaN", "nan", "-NaN", "Infinity", "-Infinity", "inf", "1e999", "-1e999", "1e-999", "0x10", "1_000", "٧"]
)
unicode_numbers = st.text(alphabet=UNICODE_DIGITS, min_size=1, max_size=12)
numbers = st.one_of(huge_integers, special_numbers, unicode_numbers, st.integers().map(str), st.floats().map(repr))


def _nested(depth: int, opener: str, closer: str) -> str:
    return opener * depth + "1" + closer * depth


deep_nesting = st.one_of(
    st.integers(min_value=100, max_value=50_000).map(lambda d: _nested(d, "[", "]")),
    st.integers(min_value=100, max_value=50_000).map(lambda d: _nested(d, '{"a":', "}")),
    st.integers(min_value=100, max_value=50_000).map(lambda d: "{" * d),
    st.integers(min_value=100, max_value=5_000).map(lambda d: _nested(d, "(", ")")),
)
long_lines = st.tuples(st.sampled_from(["x", "9", " ", "{", "[[", "`", "\t"]), st.integers(1000, 30_000)).map(
    lambda pair: pair[0] * pair[1]
)
invalid_utf8 = st.binary(max_size=200).map(lambda b: (b + b"\xff\xc3(\xed\xa0\x80").decode("utf-8", "surrogateescape"))
replaced_utf8 = st.binary(max_size=200).map(lambda b: (b + b"\xff\xfe").decode("utf-8", "replace"))
with_nuls = st.text(max_size=100).map(lambda t: t.replace("a", "\x00") + "\x00")
any_text = st.text(max_size=400)

hostile_text = st.one_of(
    any_text, numbers, deep_nesting, long_lines, invalid_utf8, replaced_utf8, with_nuls, unicode_numbers
)


def spliced(templates: list[str]) -> st.SearchStrategy[str]:
    """A template of the expected format ("{}" marks the slot) with hostile text in the slot."""
    return st.builds(lambda t, x: t.replace("{}", x), st.sampled_from(templates), hostile_text)


def hostile(templates: list[str]) -> st.SearchStrategy[str]:
    """Hostile text alone or inside one of `templates`."""
    return st.one_of(hostile_text, spliced(templates))


hostile_bytes = st.one_of(
    st.binary(max_size=400),
    hostile_text.map(lambda t: t.encode("utf-8", "surrogateescape")),
    st.binary(max_size=50).map(lambda b: b"\xef\xbb\xbf" + b),  # a byte order mark first
)
