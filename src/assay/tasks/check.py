"""Validation of a task before any work: its templates compile, and every row it evaluates renders.

Errors name the task file and line (the YAML key of a template that does not compile; the data file's line of a
row that lacks a field the task uses), so a broken task fails before a model loads or a file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateError

from assay.errors import AssayError, ConfigError, DataError
from assay.tasks.spec import TaskSpec

_KEYS = ("description", "doc_to_text", "doc_to_choice", "doc_to_target")
EXPRESSION_KEYS = {"doc_to_choice", "doc_to_target"}


def is_template(text: str) -> bool:
    """A doc_to_choice/doc_to_target value is rendered as a template when it mixes Jinja with text (as in
    lm-evaluation-harness: `"{{code}}\\n[DONE]"`); a bare expression or a lone `{{ expression }}` is evaluated."""
    inner = text.strip()
    lone = inner.startswith("{{") and inner.endswith("}}") and inner.count("{{") == 1
    return ("{{" in text or "{%" in text) and not lone


def _templates(spec: TaskSpec) -> Iterator[tuple[str, str, bool]]:
    """(YAML key, text, is an expression) for every Jinja piece of the task."""
    for key in _KEYS:
        value = getattr(spec, key)
        if not value:
            continue
        if isinstance(value, str):
            if not value.startswith("hook:"):
                yield key, value, key in EXPRESSION_KEYS and not is_template(value)
        else:
            yield from ((key, item, False) for item in value if not item.startswith("hook:"))


def hook_refs(spec: TaskSpec) -> list[str]:
    """Every `module:function` the task names: scorer, process_docs, package_rows and `hook:` templates."""
    refs = [spec.scorer, spec.process_docs, spec.dataset.package_rows]
    for key in _KEYS:
        value = getattr(spec, key)
        for item in [value] if isinstance(value, str) else list(value or ()):
            if item.startswith("hook:"):
                refs.append(item[len("hook:") :])
    return [ref for ref in refs if ref]


def check_templates(spec: TaskSpec, template: Callable[[str], Any], expression: Callable[[str], Any]) -> None:
    """Compile every template and expression; a syntax error names the file, the line and the key."""
    for key, text, is_expression in _templates(spec):
        try:
            (expression if is_expression else template)(text)
        except TemplateError as exc:
            where = _where(spec, key)
            what = "expression" if is_expression else "template"
            raise ConfigError(
                f"{where}: task {spec.name!r}, {key}: the Jinja {what} {text[:60]!r} does not compile: {exc}",
                hint="fix the Jinja2 syntax ({{ field }} for a value, {% if %}...{% endif %} for logic)",
            ) from None


def _where(spec: TaskSpec, key: str) -> str:
    if not spec.source or spec.source.startswith("builtin"):
        return spec.source or spec.name
    line = yaml_line(spec.source, spec.name, key)
    return f"{spec.source}:{line}" if line else spec.source


@lru_cache(maxsize=64)
def yaml_line(source: str, task: str, key: str) -> int | None:
    """1-based line of `key` in the mapping of task `task` in a task YAML file (None if not found)."""
    try:
        root = yaml.compose(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    for mapping in _task_mappings(root):
        pairs = {k.value: (k, v) for k, v in mapping.value if isinstance(k, yaml.ScalarNode)}
        name = pairs.get("name")
        if name and getattr(name[1], "value", None) == task and key in pairs:
            return int(pairs[key][0].start_mark.line) + 1
    return None


def _task_mappings(node: Any) -> Iterator[yaml.MappingNode]:
    if isinstance(node, yaml.MappingNode):
        keys = {k.value: v for k, v in node.value if isinstance(k, yaml.ScalarNode)}
        if "tasks" in keys:
            yield from _task_mappings(keys["tasks"])
        else:
            yield node
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _task_mappings(item)


def row_error(spec: TaskSpec, rows: Any, index: int, path: str | None, exc: Exception) -> AssayError:
    """The error for row `index` of a task whose prompt or target could not be built: file, line, why."""
    detail = exc.message if isinstance(exc, AssayError) else f"{type(exc).__name__}: {exc}"
    where = _row_location(rows, index, path) or f"task {spec.name}, row {index + 1}"
    return DataError(
        f"{where}: task {spec.name!r} cannot use this row: {detail}",
        hint=f"every row needs the fields the task's templates use (see {spec.source or spec.name})",
    )


def _row_location(rows: Any, index: int, path: str | None) -> str | None:
    """ "file:line" of an evaluated row, when the row came unchanged from a file (no process_docs)."""
    if not path or not Path(path).is_file():
        return None
    row = rows[index]
    from assay.data.sources import read_file

    try:
        raw = read_file(Path(path))
    except AssayError:
        return None
    position = next((k for k, r in enumerate(raw) if r is row), None)
    if position is None:
        return None
    if path.lower().endswith(".csv"):
        return f"{path}:{position + 2}"  # after the header line
    with open(path, encoding="utf-8") as fh:
        lines = [n for n, line in enumerate(fh.read().split("\n"), start=1) if line.strip()]
    return f"{path}:{lines[position]}" if position < len(lines) else path
