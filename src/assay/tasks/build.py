"""Stage 1-2 of the pipeline: dataset rows -> Samples (prompt, choices, target), with few-shot examples.

Few-shot examples come, as in lm-evaluation-harness, from the task's few-shot split, else train, else
validation, else the evaluation split itself, never the row being asked; sampling is seeded.
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from assay.data.sources import filter_rows, load_split, local_split_path, rows_sha256, split_exists
from assay.errors import AssayError, ConfigError, DataError
from assay.records import Sample, stable_hash
from assay.tasks.check import check_templates, hook_refs, is_template, row_error
from assay.tasks.spec import TaskSpec

Row = dict[str, Any]
_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


@dataclass(frozen=True)
class TaskData:
    """The rows a task evaluates (after --limit) and where few-shot examples come from."""

    rows: tuple[Row, ...]
    fewshot_rows: tuple[Row, ...]
    fewshot_is_eval_split: bool
    split: str
    source: str
    sha256: str
    path: str | None = None  # the file the evaluated rows came from (for errors naming a line)
    fewshot_split: str = ""  # the split the few-shot pool was read from


def import_hook(ref: str) -> Callable[..., Any]:
    """'package.module:function' -> the function (ConfigError if it does not exist)."""
    module_name, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"hook {ref!r} cannot be imported: {exc}", hint="use module.path:function") from exc


def _processed(spec: TaskSpec, rows: Sequence[Row]) -> list[Row]:
    rows = filter_rows(rows, spec.dataset.filter)
    return list(import_hook(spec.process_docs)(list(rows))) if spec.process_docs else list(rows)


def load_task_data(
    spec: TaskSpec, data_dir: Path | None, limit: int | None, fewshot_split: str | None = None
) -> TaskData:
    """Read the evaluation split (first `limit` rows in dataset order) and the few-shot pool: from
    `fewshot_split` when given (the evaluated split itself allowed), else as _fewshot_pool finds it."""
    ds = spec.dataset
    base = Path(spec.source).parent if spec.source and not spec.source.startswith("builtin") else None
    packaged = data_dir is None and not ds.data_files and ds.package_rows is not None
    path = None
    if packaged:
        raw, source = tuple(import_hook(str(ds.package_rows))()), f"package:{ds.package_rows}"
    else:
        raw, source = load_split(ds.path, ds.name, ds.split, data_dir, ds.data_files, base)
        if ds.data_files:
            path = source
        elif data_dir is not None:
            path = str(local_split_path(data_dir, ds.path, ds.name, ds.split))
    rows = _processed(spec, raw)
    if limit is not None:
        rows = rows[:limit]
    own_files = ds.data_files or packaged  # no other split to draw from
    fewshot, pool_split = (None, ds.split) if own_files else _fewshot_pool(spec, data_dir, fewshot_split)
    fewshot_is_eval = fewshot is None
    if fewshot is None:
        fewshot = _processed(spec, raw)
    unchanged = not spec.process_docs
    return TaskData(
        tuple(rows), tuple(fewshot), fewshot_is_eval, ds.split, source, rows_sha256(rows), path if unchanged else None,
        pool_split,
    )  # fmt: skip


def _fewshot_pool(spec: TaskSpec, data_dir: Path | None, asked: str | None) -> tuple[list[Row] | None, str]:
    """(rows, split) of the few-shot pool; rows None when it is the evaluated split. Without `asked`, as
    lm-evaluation-harness: the task's few-shot split, else train, else validation, else the evaluated split."""
    ds = spec.dataset
    if asked == ds.split:
        return None, ds.split
    if asked:
        if not split_exists(ds.path, ds.name, asked, data_dir):
            raise DataError(f"task {spec.name}: no {asked!r} split of {ds.path} in the data folder",
                            hint=f"--fewshot-split {ds.split} draws the shots from the evaluated rows")  # fmt: skip
        return _processed(spec, load_split(ds.path, ds.name, asked, data_dir)[0]), asked
    for split in (ds.fewshot_split, "train", "validation"):
        if split and split != ds.split and split_exists(ds.path, ds.name, split, data_dir):
            try:
                return _processed(spec, load_split(ds.path, ds.name, split, data_dir)[0]), split
            except DataError:
                continue
    return None, ds.split


def fewshot_notices(tasks: Sequence[tuple[TaskSpec, TaskData]], num_fewshot: int | None) -> list[str]:
    """One line per distinct few-shot source among `tasks`, naming the tasks it applies to."""
    by_text: dict[str, list[str]] = {}
    for spec, data in tasks:
        text = fewshot_notice(spec, data, num_fewshot)
        if text:
            by_text.setdefault(text, []).append(spec.name)
    lines = []
    for text, names in by_text.items():
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        lines.append(f"{shown}: {text}")
    return lines


def fewshot_notice(spec: TaskSpec, data: TaskData, num_fewshot: int | None) -> str | None:
    """Where a task's few-shot examples come from, in words; None for zero-shot or the task's fixed examples."""
    n_shot = spec.num_fewshot if num_fewshot is None else num_fewshot
    if n_shot <= 0 or spec.fewshot_examples or spec.fewshot_rows:
        return None
    how = "first" if spec.fewshot_sampler == "first_n" else "sampled"
    if not data.fewshot_is_eval_split:
        return f"{n_shot}-shot examples {how} from the {data.fewshot_split!r} split"
    return (f"{n_shot}-shot examples {how} from the evaluated {data.split!r} split, each row left out of its own "
            f"(choose with --fewshot-split)")  # fmt: skip


@lru_cache(maxsize=512)
def _template(text: str) -> Any:
    return _ENV.from_string(text)


@lru_cache(maxsize=512)
def _expression(text: str) -> Any:
    inner = text.strip()
    if inner.startswith("{{") and inner.endswith("}}"):  # lm-eval style "{{choices.text}}"
        inner = inner[2:-2].strip()
    return _ENV.compile_expression(inner, undefined_to_none=False)


def render_text(template: str, row: Row) -> str:
    if template.startswith("hook:"):
        return str(import_hook(template[5:])(row))
    try:
        return str(_template(template).render(**row))
    except TemplateError as exc:
        raise ConfigError(f"template {template[:60]!r} failed on a row: {exc}") from exc


def evaluate(expr: str | Sequence[str], row: Row) -> Any:
    """A doc_to_choice/doc_to_target value: a hook, a list of templates, or a Jinja2 expression."""
    if not isinstance(expr, str):
        return [render_text(item, row) for item in expr]
    if expr.startswith("hook:"):
        return import_hook(expr[5:])(row)
    if is_template(expr):
        return render_text(expr, row)
    try:
        value = _expression(expr)(**row)
        if isinstance(value, Undefined):
            str(value)  # a field the row lacks: StrictUndefined raises UndefinedError naming it
        return value
    except TemplateError as exc:
        raise ConfigError(f"expression {expr!r} failed on a row: {exc}") from exc


def target_index(spec: TaskSpec, row: Row, choices: Sequence[str]) -> int:
    value = evaluate(spec.doc_to_target, row)
    if isinstance(value, str):
        if value.strip().lstrip("-").isdigit():
            return int(value)
        if value in choices:
            return list(choices).index(value)
        raise DataError(f"task {spec.name}: target {value!r} is neither an index nor one of the choices")
    return int(value)


def _example_text(spec: TaskSpec, row: Row) -> str:
    """A solved example: question, delimiter, answer (as lm-eval formats few-shot context)."""
    if spec.output_type == "generate":
        return (
            render_text(spec.doc_to_text, row)
            + spec.target_delimiter
            + str(evaluate(spec.doc_to_target, row))
        )
    choices = [str(c) for c in evaluate(spec.doc_to_choice or "choices", row)]
    gold = target_index(spec, row, choices)
    if spec.choices_are_contexts:
        return choices[gold] + spec.target_delimiter + render_text(spec.doc_to_text, row)
    return render_text(spec.doc_to_text, row) + spec.target_delimiter + choices[gold]


def fewshot_prefix(spec: TaskSpec, data: TaskData, index: int, n: int, rng: random.Random) -> str:
    """The few-shot block (ending with the delimiter) for row `index`, or '' for zero-shot."""
    if n <= 0:
        return ""
    fixed = spec.fewshot_examples
    if fixed:
        examples = list(fixed)[:n]
    elif spec.fewshot_rows:
        examples = [data.fewshot_rows[i] for i in spec.fewshot_rows][:n]
    elif spec.fewshot_sampler == "first_n":
        pool = [r for i, r in enumerate(data.fewshot_rows) if not (data.fewshot_is_eval_split and i == index)]
        examples = pool[:n]
    else:
        candidates = range(len(data.fewshot_rows))
        picked = rng.sample(candidates, min(n + 1, len(data.fewshot_rows)))
        picked = [i for i in picked if not (data.fewshot_is_eval_split and i == index)][:n]
        examples = [data.fewshot_rows[i] for i in picked]
    return "".join(_example_text(spec, ex) + spec.fewshot_delimiter for ex in examples)


def check_task(spec: TaskSpec) -> None:
    """Every template and expression of the task compiles (a syntax error names the YAML file and line), and
    every hook it names (scorer, process_docs, hook: templates, package_rows) can be imported."""
    check_templates(spec, _template, _expression)
    for ref in hook_refs(spec):
        import_hook(ref)


def prepare(
    spec: TaskSpec,
    data_dir: Path | None,
    limit: int | None,
    num_fewshot: int | None,
    seed: int,
    fewshot_split: str | None = None,
) -> None:
    """Validation before work: load the rows a run would evaluate and build every sample (nothing is kept).
    A row that lacks a field the task uses fails here, naming its file and line, before any model loads."""
    check_task(spec)
    build_samples(spec, load_task_data(spec, data_dir, limit, fewshot_split), num_fewshot, seed)


def build_samples(spec: TaskSpec, data: TaskData, num_fewshot: int | None, seed: int) -> list[Sample]:
    """One Sample per row: the rendered prompt (description + few-shot + question), choices and target."""
    n_shot = spec.num_fewshot if num_fewshot is None else num_fewshot
    outside = [i for i in spec.fewshot_rows if not 0 <= i < len(data.fewshot_rows)] if n_shot > 0 else []
    if outside:
        raise ConfigError(
            f"{spec.source or spec.name}: task {spec.name!r}: fewshot_rows {outside} are outside the few-shot "
            f"split {data.fewshot_split or data.split!r} ({len(data.fewshot_rows)} rows)",
            hint="fewshot_rows are 0-based row numbers of the few-shot split",
        )
    rng = random.Random(seed)
    samples = []
    for index, row in enumerate(data.rows):
        try:
            prefix = (render_text(spec.description, row) if spec.description else "") + fewshot_prefix(
                spec, data, index, n_shot, rng
            )
            sample_id = f"{spec.name}/{data.split}/{index}-{stable_hash(row, 8)}"
            samples.append(_sample(spec, row, index, prefix, sample_id))
        except (AssayError, TemplateError, LookupError, TypeError, ValueError, AttributeError) as exc:
            raise row_error(spec, data.rows, index, data.path, exc) from exc
    return samples


def _sample(spec: TaskSpec, row: Row, index: int, prefix: str, sample_id: str) -> Sample:
    if spec.output_type == "generate":
        target = evaluate(spec.doc_to_target, row)
        target = tuple(str(t) for t in target) if isinstance(target, list | tuple) else str(target)
        prompt = prefix + render_text(spec.doc_to_text, row)
        return Sample(sample_id=sample_id, task=spec.name, index=index, doc=row, prompt=prompt, target=target)
    listed = evaluate(spec.doc_to_choice or "choices", row)
    if not isinstance(listed, list | tuple):  # a string would give one choice per character
        raise DataError(f"doc_to_choice gave a {type(listed).__name__}, not a list of choices: {str(listed)[:60]!r}")
    choices = tuple(str(c) for c in listed)
    gold = target_index(spec, row, choices)
    if not 0 <= gold < len(choices):
        raise DataError(f"task {spec.name}, row {index}: target {gold} is outside the {len(choices)} choices")
    text = render_text(spec.doc_to_text, row)
    if spec.choices_are_contexts:
        contexts = tuple(prefix + c for c in choices)
        continuations = tuple(spec.target_delimiter + text for _ in choices)
        prompt = prefix
    else:
        prompt = prefix + text
        contexts = tuple(prompt for _ in choices)
        continuations = tuple(spec.target_delimiter + c for c in choices)
    return Sample(
        sample_id=sample_id,
        task=spec.name,
        index=index,
        doc=row,
        prompt=prompt,
        contexts=contexts,
        continuations=continuations,
        choices=choices,
        target=gold,
    )
