"""Declarative answer extraction: a task YAML names filters, each a list of steps applied to a generated text.

    filters:
      strict-match:
        - {regex: "The answer is (\\-?[0-9\\.\\,]+).", select: first, fallback: "[invalid]"}
        - {remove: [",", "\\$", "\\.$"]}
      flexible-extract:
        - {regex: "(-?[$0-9.,]{2,})|(-?[0-9]+)", select: last}
        - {remove: [",", "\\$", "\\.$"]}

Steps (one key names the step; the other keys are its options):

    regex: PATTERN    all matches of PATTERN; `select` one (first | last | an index, default first); its text
                      is `group` N if given, else the only group, else the first non-empty one of several
                      groups, else the whole match; stripped. No match: `fallback` (default "[invalid]").
    remove: [PATTERN, ...]   delete every match of each pattern, in order (lm-eval's regexes_to_ignore)
    replace: {PATTERN: TEXT, ...}   substitute matches (PATTERN is a regex, TEXT may use \\1)
    take_until: [TEXT, ...]  cut at the earliest occurrence of any TEXT
    strip: true | CHARS      strip whitespace (or the given characters) at both ends
    lowercase: true

The regex step follows lm-evaluation-harness's regex filter (findall, then group_select), so its GSM8K
`strict-match` and `flexible-extract` filters extract the same strings here.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from assay.errors import ConfigError, did_you_mean

INVALID = "[invalid]"
Step = Mapping[str, Any]

_OPTIONS: dict[str, frozenset[str]] = {
    "regex": frozenset({"select", "group", "fallback"}),
    "remove": frozenset(),
    "replace": frozenset(),
    "take_until": frozenset(),
    "strip": frozenset(),
    "lowercase": frozenset(),
}


@functools.lru_cache(maxsize=256)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"filter regex {pattern!r} does not compile: {exc}") from exc


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]


def _regex(text: str, step: Step) -> str:
    pattern = _compile(str(step["regex"]))
    fallback = str(step.get("fallback", INVALID))
    matches = list(pattern.finditer(text))
    if not matches:
        return fallback
    select = step.get("select", "first")
    index = {"first": 0, "last": -1}.get(select, select) if isinstance(select, str) else select
    try:
        match = matches[int(index)]
    except (IndexError, ValueError):
        return fallback
    if "group" in step:
        return (match.group(int(step["group"])) or "").strip()
    if pattern.groups > 1:  # as lm-eval's findall tuples: the first group that matched something
        return next((g for g in match.groups() if g), fallback).strip()
    return (match.group(pattern.groups) or "").strip()


def _remove(text: str, step: Step) -> str:
    for pattern in _as_list(step["remove"]):
        text = _compile(pattern).sub("", text)
    return text


def _replace(text: str, step: Step) -> str:
    table = step["replace"]
    if not isinstance(table, Mapping):
        raise ConfigError("filter step `replace` takes a mapping {PATTERN: TEXT}")
    for pattern, replacement in table.items():
        text = _compile(str(pattern)).sub(str(replacement), text)
    return text


def _take_until(text: str, step: Step) -> str:
    cut = len(text)
    for stop in _as_list(step["take_until"]):
        if stop and (i := text.find(stop)) != -1:
            cut = min(cut, i)
    return text[:cut]


def _strip(text: str, step: Step) -> str:
    chars = step["strip"]
    if chars is False:
        return text
    return text.strip() if chars is True else text.strip(str(chars))


def _lowercase(text: str, step: Step) -> str:
    return text.lower() if step["lowercase"] else text


_STEPS: dict[str, Callable[[str, Step], str]] = {
    "regex": _regex,
    "remove": _remove,
    "replace": _replace,
    "take_until": _take_until,
    "strip": _strip,
    "lowercase": _lowercase,
}


def _step_name(step: Step) -> str:
    """The step's kind: the one key that names a step; anything else is a typo worth an error."""
    if not isinstance(step, Mapping):
        raise ConfigError(f"a filter step must be a mapping such as {{strip: true}}, got {step!r}")
    kinds = [k for k in step if k in _STEPS]
    if len(kinds) != 1:
        unknown = [k for k in step if k not in _STEPS and not any(k in o for o in _OPTIONS.values())]
        hint = did_you_mean(unknown[0], _STEPS) if unknown else None
        raise ConfigError(
            f"filter step {dict(step)!r} must name exactly one step kind",
            hint=hint or f"known steps: {', '.join(_STEPS)}",
        )
    kind = kinds[0]
    extra = set(step) - {kind} - _OPTIONS[kind]
    if extra:
        raise ConfigError(
            f"filter step {kind!r} has unknown option(s): {', '.join(sorted(extra))}",
            hint=f"options of {kind!r}: {', '.join(sorted(_OPTIONS[kind])) or 'none'}",
        )
    return kind


def _check_regex_step(step: Step) -> None:
    """The pattern compiles, `group` names one of its groups and `select` is first, last or an integer."""
    pattern = _compile(str(step["regex"]))
    group = step.get("group", 0)
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group <= pattern.groups:
        raise ConfigError(
            f"filter regex {pattern.pattern!r}: group {group!r} is not one of its groups (0-{pattern.groups})"
        )
    select = step.get("select", "first")
    index = isinstance(select, int) and not isinstance(select, bool)
    if select not in ("first", "last") and not index and not str(select).removeprefix("-").isdigit():
        raise ConfigError(f"filter regex {pattern.pattern!r}: select {select!r} is not first, last or an index")


def validate_filter(steps: Sequence[Step]) -> None:
    """Raise ConfigError for an unknown step or option, or a regex that does not compile (at load time)."""
    for step in steps:
        kind = _step_name(step)
        if kind == "regex":
            _check_regex_step(step)
        elif kind == "remove":
            for pattern in _as_list(step["remove"]):
                _compile(pattern)
        elif kind == "replace":
            _replace("", step)


def apply_filter(steps: Sequence[Step], text: str) -> str:
    """Run `text` through the filter's steps, in order, and return the extracted answer."""
    for step in steps:
        text = _STEPS[_step_name(step)](text, step)
    return text
