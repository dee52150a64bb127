"""Validation before work for commands that evaluate: everything the user gave is checked before a model loads
or a file is written (tasks and their rows, model arguments, the output folder, the leaderboard file).

Checking a task means building it: its rows are read, its samples rendered and their requests formed. check_run
returns what it built (a CheckedRun) and run_evaluation uses it, so a run builds each task once, for any
number of models, fresh or resumed:

    checked = check_run(config)                       # one line and exit 2 on a bad input; nothing written
    record, folder = run_evaluation(config, checked=checked)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from assay.config import RunConfig
from assay.errors import UsageError

if TYPE_CHECKING:
    from assay.execution.kinds import Kind
    from assay.records import Request, Sample
    from assay.tasks.build import TaskData
    from assay.tasks.catalog import Selection
    from assay.tasks.spec import TaskSpec


@dataclass(frozen=True)
class PreparedTask:
    """A task's rows, its samples and the requests they make, before any is answered (the same for every model)."""

    spec: TaskSpec
    data: TaskData
    samples: tuple[Sample, ...]
    kind: Kind
    requests: tuple[Request, ...]


@dataclass(frozen=True)
class CheckedRun:
    """What check_run built while checking `config`: run_evaluation takes it instead of building again."""

    config: RunConfig
    selection: Selection
    data_dir: Path | None
    tasks: tuple[PreparedTask, ...]


def prepare_task(spec: TaskSpec, config: RunConfig, data_dir: Path | None) -> PreparedTask:
    """Read a task's rows (after --limit), render its samples and form their requests. A row that lacks a field
    the task uses fails here, naming its file and line."""
    from assay import pipeline
    from assay.tasks.build import build_samples, load_task_data

    limit = None if config.limit is None else int(config.limit)  # a fraction is for lm: tasks only (RunConfig)
    data = load_task_data(spec, data_dir, limit, config.fewshot_split)
    samples = build_samples(spec, data, config.num_fewshot, config.fewshot_seed)
    output = pipeline.OUTPUTS[spec.output_type]
    requests = output.requests(spec, samples, config.seed, config.gen_kwargs, config.n_samples)
    return PreparedTask(spec, data, tuple(samples), output.kind, tuple(requests))


def check_writable_folder(path: Path, option: str) -> None:
    """`path` is a folder or can be created as one, and is writable (no file is created here)."""
    hint = f"choose another {option}"
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} is a file, not a folder", hint=hint)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{option} {path} cannot be created: {existing} is a file", hint=hint)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path} is not writable ({existing})", hint=hint)


def run_model_args(backend: str, config: RunConfig) -> dict[str, Any]:
    """The run's options that `backend` takes as model args (hf: --batch-size, --device), for the args a model
    spec does not set itself."""
    from assay.models.backends import capabilities

    given = {"batch_size": config.batch_size, "device": config.device}
    return {name: given[name] for name in capabilities(backend).run_options if given.get(name) not in (None, "")}


def check_models(config: RunConfig) -> None:
    """Backend arguments that would fail at load time fail now (hf: unknown args, missing files, no CUDA): the
    args the model will load with, the run's options included."""
    from assay.models.backends import check_args, resolve_spec
    from assay.runner import concrete_spec, refuse_secrets  # the runner checks again; here before any data is read

    for spec in config.models:
        refuse_secrets(spec)
        backend, args, _ = resolve_spec(concrete_spec(spec))
        check_args(backend, {**run_model_args(backend, config), **args})


def check_chat_templates(config: RunConfig) -> None:
    """--apply-chat-template renders lm-eval's prompts with each model's own template: an hf model that has one."""
    from assay.lmeval.evaluate import chat_tokenizer
    from assay.models.backends import resolve_spec
    from assay.records import ModelInfo
    from assay.runner import concrete_spec

    for spec in config.models:
        backend, args, name = resolve_spec(concrete_spec(spec))
        tokenizer = chat_tokenizer(ModelInfo(name=name, backend=backend, args=args, fingerprint=""))
        if not getattr(tokenizer, "chat_template", None):
            raise UsageError(f"--apply-chat-template: model {name} has no chat template",
                             hint="use an instruct model, or run without --apply-chat-template")  # fmt: skip


def check_gen_kwargs(gen_kwargs: dict[str, object]) -> None:
    """--gen-kwargs keys are generation settings: a typo is an error, not an ignored override."""
    from assay.errors import did_you_mean
    from assay.tasks.spec import GenerationSpec

    known = list(GenerationSpec.model_fields)
    for key in gen_kwargs:
        if key not in known:
            raise UsageError(
                f"--gen-kwargs: unknown generation setting {key!r}",
                hint=did_you_mean(key, known) or f"known: {', '.join(known)}",
            )
    try:
        settings = GenerationSpec.model_validate({**GenerationSpec().model_dump(), **gen_kwargs})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UsageError(f"--gen-kwargs: {first['loc'][0]}: {first['msg']}") from None
    for name, ok, rule in (
        ("temperature", settings.temperature >= 0, "0 or more"),
        ("top_p", 0 < settings.top_p <= 1, "in (0, 1]"),
        ("max_tokens", settings.max_tokens >= 1, "at least 1"),
        ("n", settings.n >= 1, "at least 1"),
    ):
        if name in gen_kwargs and not ok:
            raise UsageError(f"--gen-kwargs: {name} must be {rule}, got {gen_kwargs[name]}")


def check_run(config: RunConfig, resume_dir: Path | None = None) -> CheckedRun:
    """All of `assay run`'s inputs, in the order a user would fix them; raises an AssayError on the first.
    Returns every task built (for run_evaluation). `resume_dir`: the unfinished run's folder, which a resumed
    run writes into instead of --output (the same checks otherwise: the saved config's tasks, data, models)."""
    from assay.data.sources import data_dir_from
    from assay.leaderboard.store import check_appendable
    from assay.tasks.build import check_task
    from assay.tasks.catalog import select

    if not config.output.strip():
        raise UsageError("--output is empty", hint="name the folder that receives runs/<run_id>/ (default: runs)")
    check_models(config)
    selection = select(config.tasks, config.task_files)
    check_gen_kwargs(config.gen_kwargs)
    if resume_dir is None:
        check_writable_folder(config.output_dir, "--output")
    else:
        check_writable_folder(resume_dir, "--resume")
    if config.leaderboard:
        check_appendable(Path(config.leaderboard))
    data_dir = data_dir_from(config.data_dir)
    tasks = []
    for spec in selection.tasks:
        check_task(spec)
        tasks.append(prepare_task(spec, config, data_dir))
    chat = "assay tasks set it in their YAML (generation.chat, generation.system)"
    lm_only = [(flag, hint) for flag, on, hint in (
        ("--apply-chat-template", config.apply_chat_template, chat),
        ("--system-instruction", config.system_instruction, chat),
        ("--metadata", config.metadata, "it is handed to lm-eval's task code; assay's own tasks take none"),
    ) if on]  # fmt: skip
    if lm_only and not selection.lmeval.names:
        flag, hint = lm_only[0]
        raise UsageError(f"{flag} applies to lm-eval's tasks (lm:NAME)", hint=hint)
    if config.apply_chat_template and selection.lmeval.names:
        check_chat_templates(config)
    if selection.lmeval.names:  # lm-eval builds its tasks (and reads their rows) here, before any model loads
        from assay.lmeval.evaluate import load_lmeval

        load_lmeval(selection.lmeval, data_dir, config)
    return CheckedRun(config, selection, data_dir, tuple(tasks))
