"""The declarative task format: a YAML file validated into a frozen TaskSpec.

    name: arc_easy
    version: "1.0"
    groups: [ai2_arc]
    dataset: {path: allenai/ai2_arc, name: ARC-Easy, split: test, fewshot_split: train}
    output_type: multiple_choice          # or: generate
    doc_to_text: "Question: {{question}}\\nAnswer:"        # Jinja2 template
    doc_to_choice: "choices.text"          # Jinja2 expression (or a list of templates, or hook:mod:fn)
    doc_to_target: "choices.label.index(answerKey)"        # Jinja2 expression (or hook:mod:fn)
    metrics: [acc, acc_norm]

Templates render text; `doc_to_choice` and `doc_to_target` are expressions evaluated to native values.
Any of doc_to_text / doc_to_choice / doc_to_target may be `hook:module:function` (called with the row),
and `process_docs: module:function` maps the list of rows before anything else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assay.data.sources import read_yaml
from assay.errors import ConfigError, DataError, did_you_mean


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatasetSpec(_Frozen):
    """Where rows come from: a hub dataset id/config/split, or local files (`data_files`)."""

    path: str = (
        ""  # hub id, e.g. "allenai/ai2_arc" (looked up as <data-dir>/<path>/<name or default>/<split>.jsonl)
    )
    name: str | None = None  # hub config
    split: str = "test"
    fewshot_split: str | None = None  # default: train, else validation, else the evaluation split
    data_files: str | None = None  # a JSONL/CSV file (relative to the task YAML) instead of a hub dataset
    filter: dict[str, Any] = Field(default_factory=dict)  # keep rows whose fields equal these values
    # "module:function" returning the evaluation split's rows when no data folder is given (e.g. the copy a
    # reference package ships), so the task works offline without the hub
    package_rows: str | None = None


class GenerationSpec(_Frozen):
    """Decoding settings of a generative task (the CLI's --gen-kwargs override them)."""

    stop: tuple[str, ...] = ()
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    chat: bool = False  # apply the model's chat template to the prompt
    system: str | None = None


class MetricRef(_Frozen):
    """A metric applied to a task's outputs: a registered name, options, and which filter's output to score."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    filter: str | None = None  # key into TaskSpec.filters; None: the raw output
    report_as: str | None = None  # the reported metric name (default: name, or name_filter)

    @property
    def label(self) -> str:
        if self.report_as:
            return self.report_as
        return f"{self.name}_{self.filter}" if self.filter else self.name


class CodeSpec(_Frozen):
    """How a code task's completions are run (read by the code scorer, assay.code.hooks)."""

    problems: str = "humaneval"  # humaneval | mbpp | example | a problems .jsonl (relative to the YAML)
    completion: Literal["body", "program"] = "body"  # a function body after the prompt, or a whole program
    task_id_prefix: str = ""  # prepended to the row's task_id to find its problem ("Mbpp/")
    k: tuple[int, ...] = (1, 5, 10, 100)  # pass@k reported for every k <= n


# metadata keys that code reads become these typed fields (the YAML may still put them under metadata:)
_TYPED_METADATA = {"fewshot_examples", "scorer_options", "problems", "completion", "task_id_prefix", "k"}


class TaskSpec(_Frozen):
    """One evaluation task; see the module docstring for the YAML form."""

    name: str
    version: str = "1.0"
    groups: tuple[str, ...] = ()
    description: str = ""  # Jinja2 template prepended once to the prompt (after rendering with the row)
    dataset: DatasetSpec
    process_docs: str | None = None  # "module:function", list[dict] -> list[dict]
    output_type: Literal["multiple_choice", "generate"] = "multiple_choice"
    doc_to_text: str
    doc_to_choice: str | tuple[str, ...] | None = None
    doc_to_target: str
    choices_are_contexts: bool = (
        False  # WinoGrande partial scoring: each choice is a context, target the shared continuation
    )
    target_delimiter: str = " "
    fewshot_delimiter: str = "\n\n"
    num_fewshot: int = Field(default=0, ge=0)
    fewshot_sampler: Literal["random", "first_n"] = "random"
    fewshot_rows: tuple[int, ...] = ()  # fixed few-shot examples: these row indices of the few-shot split
    generation: GenerationSpec = GenerationSpec()
    filters: dict[str, tuple[dict[str, Any], ...]] = Field(default_factory=dict)  # named extraction pipelines
    metrics: tuple[MetricRef, ...] = (MetricRef(name="acc"),)
    scorer: str | None = None  # "module:function" scoring a batch (code execution, judges)
    scorer_options: dict[str, Any] = Field(default_factory=dict)  # handed to the scorer (timeouts, workers, ...)
    fewshot_examples: tuple[dict[str, Any], ...] = ()  # fixed few-shot rows written in the YAML itself
    code: CodeSpec = CodeSpec()
    metadata: dict[str, Any] = Field(default_factory=dict)  # free-form; nothing in assay reads it
    source: str = ""  # the YAML file it came from (filled by the loader)

    @model_validator(mode="before")
    @classmethod
    def _lift_metadata(cls, value: Any) -> Any:
        """`metadata: {problems: mbpp, scorer_options: {...}}` (the older form) fills the typed fields."""
        if not isinstance(value, dict) or not isinstance(value.get("metadata"), dict):
            return value
        meta = dict(value["metadata"])
        lifted = {k: meta.pop(k) for k in list(meta) if k in _TYPED_METADATA}
        out = {**value, "metadata": meta}
        for key in ("fewshot_examples", "scorer_options"):
            if key in lifted:
                out.setdefault(key, lifted.pop(key))
        if lifted:
            out["code"] = {**lifted, **(value.get("code") or {})}
        return out

    @field_validator("metrics", mode="before")
    @classmethod
    def _metric_names(cls, value: Any) -> Any:
        """Allow `metrics: [acc, acc_norm]` as shorthand for `[{name: acc}, {name: acc_norm}]`."""
        if isinstance(value, list | tuple):
            return tuple({"name": v} if isinstance(v, str) else v for v in value)
        return value


def load_task_file(path: Path) -> list[TaskSpec]:
    """Read a YAML file holding one task (a mapping) or several (a list, or a mapping with `tasks:`)."""
    try:  # read_yaml: bad YAML, not UTF-8, a huge digit string or deep nesting is one line naming the file
        raw = read_yaml(path)
    except OSError as exc:
        raise ConfigError(f"cannot read task file {path}: {exc.strerror or exc}") from None
    except DataError as exc:
        raise ConfigError(exc.message, hint=exc.hint) from None
    entries = raw.get("tasks", [raw]) if isinstance(raw, dict) else raw
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: expected a task mapping or a list of tasks")
    specs = []
    for entry in entries:
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: each task must be a mapping, got {type(entry).__name__}")
        try:
            spec = TaskSpec.model_validate({**entry, "source": str(path)})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"{path}: task {entry.get('name', '?')!r}: {where}: {first['msg']}") from exc
        check_names(spec, path)
        specs.append(spec)
    return specs


def check_names(spec: TaskSpec, path: Path) -> None:
    """Metric and filter names checked against their catalogs when the file loads, not after generation."""
    from assay.pipeline import OUTPUTS  # the output types' table (it reads TaskSpec, so imported here)
    from assay.tasks.filters import validate_filter  # a bad step or regex fails at load, not mid-run

    for name, steps in spec.filters.items():
        try:
            validate_filter(steps)
        except ConfigError as exc:
            raise ConfigError(f"{path}: task {spec.name!r}: filters.{name}: {exc.message}", hint=exc.hint) from None
    output = OUTPUTS[spec.output_type]
    known = None if spec.scorer and output.hooks else output.metrics  # a hook reports metrics of its own
    for ref in spec.metrics:
        if known is not None and ref.name not in known:
            _unknown(path, spec, "metrics", ref.name, known)
        if ref.filter is not None and ref.filter not in spec.filters:
            _unknown(path, spec, "metrics.filter", ref.filter, spec.filters)


def _unknown(path: Path, spec: TaskSpec, key: str, name: str, known: Any) -> None:
    names = sorted(known)
    raise ConfigError(
        f"{path}: task {spec.name!r}: {key}: unknown name {name!r}",
        hint=did_you_mean(name, names) or (f"known: {', '.join(names)}" if names else "define it under filters:"),
    )
