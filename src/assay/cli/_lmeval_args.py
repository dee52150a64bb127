"""lm-eval 0.4.13's command line (`lm_eval run ...` or the legacy form) parsed as lm-eval parses it, and turned
into an `assay run` configuration.

The parser names every flag of lm-eval's `run` subcommand with lm-eval's own short forms, nargs, types and
actions (its MergeDictAction for key=value lists, SplitArgs for tasks), so a command copied from lm-eval parses
the same. Flags assay has no counterpart for are parsed too, then refused in one line naming the flag and why,
before any work (REFUSED). Everything else maps onto RunConfig (see `translate`).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from assay.errors import UsageError, did_you_mean
from assay.lmeval.catalog import PREFIX
from assay.lmeval.output import LmevalRun
from assay.models.hf import ARGS as HF_ARGS

# lm-eval's --model -> assay's backend
BACKENDS = {
    "hf": "hf", "hf-auto": "hf", "huggingface": "hf",
    "local-completions": "openai-completions", "local-chat-completions": "openai-chat",
    "openai-chat-completions": "openai-chat", "gguf": "llamacpp", "ggml": "llamacpp", "llama-cpp": "llamacpp",
}  # fmt: skip
# lm-eval's model_args -> assay's backend args, per backend (None: accepted and not needed by assay)
MODEL_ARGS: dict[str, dict[str, str | None]] = {
    "hf": {k: k for k in HF_ARGS},  # every argument of assay's hf backend has lm-eval's name
    "openai-completions": {
        "base_url": "base_url",
        "model": "model",
        "num_concurrent": "concurrency",
        "max_retries": "max_retries",
        "timeout": "timeout",
        "tokenizer": None,
        "tokenizer_backend": None,
        "tokenized_requests": None,
    },  # fmt: skip
    "llamacpp": {
        "path": "path",
        "pretrained": "path",
        "n_ctx": "n_ctx",
        "n_batch": "n_batch",
        "n_threads": "n_threads",
    },  # fmt: skip
}
MODEL_ARGS["openai-chat"] = MODEL_ARGS["openai-completions"]

# flags parsed as lm-eval parses them but refused: (reason, value that is harmless and accepted)
REFUSED: dict[str, str] = {
    "config": "a YAML of lm-eval's settings is not read; pass the flags themselves",
    "cache_requests": "lm-eval's request cache is not used; assay builds requests from lm-eval's tasks each run",
    "check_integrity": "lm-eval's task test suites are not run by assay",
    "write_out": "use --log_samples and read the prompts in the samples files",
    "wandb_config_args": "only --wandb_args (project, name, dir, mode) is supported",
    "trackio_args": "Trackio is not supported; use --wandb_args or assay's MLflow tracking",
    "hf_hub_log_args": "pushing results to the Hugging Face hub is not supported",
}
WANDB_KEYS = {"project", "name", "dir", "mode"}
GEN_KEYS = {"until": "stop", "max_gen_toks": "max_tokens", "temperature": "temperature", "top_p": "top_p"}
EPILOG = (
    "not supported by assay (refused in one line, exit 2):\n"
    + "\n".join(f"  --{flag:<22}{why}" for flag, why in REFUSED.items())
    + (
        "\n\nnotes: --batch_size auto:N is assay's auto; --seed's torch and fewshot slots are used; "
        "--use_cache PATH is assay's response cache\nin PATH (without it nothing is cached, as in lm-eval); "
        "--verbosity DEBUG shows "
        "lm-eval's log lines; tokenizer,\ntokenizer_backend and tokenized_requests of the API models are accepted and "
        "not needed (assay sends text)."
    )
)


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are assay's one-line usage errors (exit 2) instead of usage text."""

    def error(self, message: str) -> Any:  # argparse's NoReturn, raised as UsageError
        raise UsageError(message, hint="assay lm-eval --help lists lm-eval's flags")


def parser() -> argparse.ArgumentParser:
    """lm-eval 0.4.13's `run` flags, names, short forms and value forms."""
    from lm_eval._cli.utils import MergeDictAction, SplitArgs, _int_or_none_list_arg_type, try_parse_json

    p = _Parser(prog="assay lm-eval", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG,
                usage="assay lm-eval [run] --model <model> --tasks <task> <task> --model_args <arg=value> [options]",
                description="lm-eval's command line, run by assay (writes lm-eval's output files too).")  # fmt: skip
    class Merge(MergeDictAction):  # type: ignore[misc]
        """lm-eval's key=value / JSON merge, whose ValueError (bad JSON) becomes argparse's error for the flag."""

        def __call__(self, parser: Any, namespace: Any, values: Any, option_string: Any = None) -> None:
            try:
                super().__call__(parser, namespace, values, option_string)
            except ValueError as exc:
                raise argparse.ArgumentError(self, str(exc)) from None

    kv: dict[str, Any] = {"default": None, "nargs": "+", "action": Merge}
    flag: dict[str, Any] = {"action": "store_true", "default": argparse.SUPPRESS}
    g = p.add_argument_group("model and tasks")
    g.add_argument("--tasks", "-t", default=None, nargs="+", action=SplitArgs, metavar="<task>",
                   help="Space (or comma-separated) list of task names or groupings (lm-eval's)")  # fmt: skip
    g.add_argument("--model", "-M", default=None, metavar="<model>",
                   help=f"Model name (default: hf); assay runs: {', '.join(BACKENDS)}")  # fmt: skip
    g.add_argument("--model_args", "-a", metavar="<arg>", help="Model arguments as 'key=val,key2=val2'", **kv)
    g.add_argument("--apply_chat_template", nargs="?", const=True, default=argparse.SUPPRESS, metavar="<template>",
                   help="Apply the model's chat template to prompts (a named template is refused)")  # fmt: skip
    g.add_argument("--limit", "-L", type=float, default=None, metavar="<limit>",
                   help="Limit examples per task (integer count or fraction)")  # fmt: skip
    g.add_argument("--use_cache", "-c", default=None, metavar="<path>", help="Folder of assay's response cache")
    e = p.add_argument_group("evaluation settings")
    e.add_argument("--num_fewshot", "-f", type=int, default=None, metavar="<n>", help="Few-shot examples")
    e.add_argument("--batch_size", "-b", default=argparse.SUPPRESS, metavar="<size>",
                   help="Batch size: 'auto', 'auto:N', or integer")  # fmt: skip
    e.add_argument("--max_batch_size", type=int, default=None, metavar="<n>", help="Max batch size with auto")
    e.add_argument("--device", default=None, metavar="<device>", help="Device to use (e.g. cuda, cuda:0, cpu)")
    e.add_argument("--gen_kwargs", metavar="<arg>", help="Generation arguments (until, max_gen_toks, ...)", **kv)
    d = p.add_argument_group("data and output")
    d.add_argument("--output_path", "-o", default=None, metavar="<path>", help="Output dir or json file for results")
    d.add_argument("--log_samples", "-s", help="Save all model outputs and documents", **flag)
    d.add_argument("--samples", "-E", default=None, type=partial(_json_arg, try_parse_json), metavar="<json>",
                   help="JSON (or file) of task -> document ids, e.g. '{\"arc_easy\": [0,3]}'")  # fmt: skip
    c = p.add_argument_group("caching and performance")
    c.add_argument("--cache_requests", nargs="?", const="true", default=None, metavar="true|refresh|delete",
                   help="(refused)")  # fmt: skip
    c.add_argument("--check_integrity", help="(refused)", **flag)
    t = p.add_argument_group("instruct formatting")
    t.add_argument("--system_instruction", default=None, metavar="<text>", help="System instruction for the prompt")
    t.add_argument("--fewshot_as_multiturn", type=lambda x: x.lower() in ("true", "1", "yes"), nargs="?",
                   const=True, default=argparse.SUPPRESS, metavar="<bool>",
                   help="Few-shot examples as chat turns (default with --apply_chat_template: true)")  # fmt: skip
    m = p.add_argument_group("task management")
    m.add_argument("--include_path", default=None, metavar="<path>", help="Additional directory for external tasks")
    m.add_argument("--config", "-C", default=None, metavar="<path>", help="(refused)")
    lg = p.add_argument_group("logging and tracking")
    lg.add_argument("--verbosity", "-v", type=str.upper, default=None, metavar="<level>", help="DEBUG: log lines")
    lg.add_argument("--write_out", "-w", help="(refused)", **flag)
    lg.add_argument("--show_config", help="Display the full result dict and task configs", **flag)
    lg.add_argument("--wandb_args", metavar="<args>", help="W&B (offline) project=,name=,dir=,mode=", **kv)
    for name in ("wandb_config_args", "trackio_args", "hf_hub_log_args"):
        lg.add_argument(f"--{name}", metavar="<args>", help="(refused)", **kv)
    a = p.add_argument_group("advanced options")
    a.add_argument("--predict_only", "-x", help="Answers and samples files only, no metrics (needs --output_path)",
                   **flag)  # fmt: skip
    a.add_argument("--metadata", metavar="<args>", help="key=val args or a JSON object, merged with model_args into "
                   "each task's metadata (needed by some tasks, e.g. RULER)", **kv)  # fmt: skip
    a.add_argument("--seed", type=partial(_int_or_none_list_arg_type, 3, 4, "0,1234,1234,1234"), default=None,
                   metavar="<python,numpy,torch,fewshot>", help="Random seeds (default: 0,1234,1234,1234)")  # fmt: skip
    a.add_argument("--trust_remote_code", help="Allow executing remote code from Hugging Face Hub", **flag)
    a.add_argument("--confirm_run_unsafe_code", help="Accepted, not needed: code runs in the sandbox", **flag)
    return p


def _json_arg(parse: Any, value: str) -> Any:
    """lm-eval's try_parse_json, whose message (not argparse's "invalid value") says what is wrong."""
    try:
        return parse(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


@dataclass(frozen=True)
class DropIn:
    """An lm-eval command line as assay runs it: RunConfig fields, and what lm-eval's own outputs need."""

    fields: dict[str, Any]
    how: LmevalRun
    output_path: str | None = None
    log_samples: bool = False
    show_config: bool = False
    wandb: dict[str, Any] = field(default_factory=dict)
    cache_dir: str | None = None
    debug: bool = False


def parse(argv: list[str]) -> argparse.Namespace:
    """lm-eval's argument list, with or without the `run` subcommand."""
    if argv and argv[0] in ("ls", "validate"):
        raise UsageError(f"lm-eval's `{argv[0]}` subcommand is not supported",
                         hint="list lm-eval's tasks with: assay tasks 'lm:*'")  # fmt: skip
    return parser().parse_args(argv[1:] if argv and argv[0] == "run" else argv)


def refuse(ns: argparse.Namespace) -> None:
    """One line naming the first flag assay does not support (checked before anything else happens)."""
    given = vars(ns)
    for name, why in REFUSED.items():
        if given.get(name) not in (None, {}, False):
            raise UsageError(f"--{name} is not supported by assay lm-eval: {why}")
    chat = given.get("apply_chat_template", False)
    if isinstance(chat, str):
        raise UsageError(f"--apply_chat_template {chat}: a named template is not supported by assay lm-eval",
                         hint="give --apply_chat_template alone: the model's own template is used")  # fmt: skip
    if given.get("fewshot_as_multiturn") and not chat:  # as lm-eval refuses it
        raise UsageError("--fewshot_as_multiturn needs --apply_chat_template")
    if ns.samples is not None and ns.limit is not None:  # as lm-eval refuses it
        raise UsageError("--samples and --limit exclude each other", hint="give one of them")
    if (given.get("log_samples") or given.get("predict_only")) and not ns.output_path:  # as lm-eval refuses it
        flag = "--predict_only" if given.get("predict_only") else "--log_samples"
        raise UsageError(f"{flag} needs --output_path", hint="e.g. --output_path results")
    if ns.limit is not None and ns.limit <= 0:
        raise UsageError(f"--limit {ns.limit}: give a number of documents or a fraction of each task (0 < f < 1)")
    unknown = set(ns.wandb_args or {}) - WANDB_KEYS
    if unknown:
        raise UsageError(f"--wandb_args: {', '.join(sorted(unknown))} not supported", hint="use project, name, dir")


def model_spec(model: str | None, args: dict[str, Any], trust_remote_code: bool) -> dict[str, Any]:
    """lm-eval's --model and --model_args as an assay ModelSpec's fields."""
    source = model or "hf"
    backend = BACKENDS.get(source)
    if backend is None:
        close = did_you_mean(source, BACKENDS)
        raise UsageError(
            f"--model {source}: not a model assay lm-eval runs", hint=close or f"use {', '.join(BACKENDS)}"
        )
    names = MODEL_ARGS[backend]
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key not in names:
            close = did_you_mean(key, names)
            raise UsageError(f"--model_args: {key} is not an argument of --model {source} in assay lm-eval",
                             hint=close or f"known: {', '.join(names)}")  # fmt: skip
        if names[key] is not None:
            out[str(names[key])] = value
    if backend.startswith("openai") and isinstance(out.get("base_url"), str):  # lm-eval names the endpoint itself
        out["base_url"] = out["base_url"].removesuffix("/chat/completions").removesuffix("/completions")
    if backend == "hf":
        out.setdefault("dtype", "auto")  # lm-eval's HFLM default: the checkpoint's own dtype (assay's is float32)
        if trust_remote_code:
            out["trust_remote_code"] = True
    return {"model": backend, "args": out}


def translate(ns: argparse.Namespace) -> DropIn:
    """RunConfig fields and lm-eval's output settings from a parsed lm-eval command line."""
    refuse(ns)
    given = vars(ns)
    args = dict(ns.model_args or {})
    spec = model_spec(ns.model, args, bool(given.get("trust_remote_code")))
    tasks = tuple(t if t.startswith(PREFIX) else PREFIX + t for t in (ns.tasks or []) if t.strip())
    if not tasks:
        raise UsageError("no --tasks given", hint="e.g. --tasks arc_easy,hellaswag")
    batch = str(given.get("batch_size", "8"))
    batch = "auto" if batch.startswith("auto") else batch
    if ns.max_batch_size is not None and batch == "auto" and ns.max_batch_size < 64:
        raise UsageError(f"--max_batch_size {ns.max_batch_size}: assay's auto batch size cannot be capped below 64",
                         hint="give --batch_size N instead")  # fmt: skip
    seeds = ns.seed or [0, 1234, 1234, 1234]
    gen = _gen_kwargs(ns.gen_kwargs or {})
    fields: dict[str, Any] = {
        "models": ({"name": "", **spec},), "tasks": tasks, "limit": _limit(ns.limit), "samples": _samples(ns.samples),
        "predict_only": bool(given.get("predict_only")), "metadata": {**args, **(ns.metadata or {})},
        "num_fewshot": ns.num_fewshot, "batch_size": batch, "seed": 1234 if seeds[2] is None else seeds[2],
        "fewshot_seed": 1234 if seeds[3] is None else seeds[3], "device": ns.device, "gen_kwargs": gen,
        "use_cache": ns.use_cache is not None, "task_files": (ns.include_path,) if ns.include_path else (),
        "apply_chat_template": bool(given.get("apply_chat_template", False)),
        "fewshot_as_multiturn": given.get("fewshot_as_multiturn") is not False, "system_instruction":
        ns.system_instruction,
    }  # fmt: skip
    recorded = {"batch_size": given.get("batch_size", 1), "batch_sizes": [], "device": ns.device,
                "use_cache": ns.use_cache, "limit": ns.limit, "gen_kwargs": ns.gen_kwargs or {},
                "random_seed": seeds[0], "numpy_seed": seeds[1], "torch_seed": seeds[2],
                "fewshot_seed": seeds[3]}  # fmt: skip
    how = LmevalRun(model_source=ns.model or "hf", model_args=args, config=recorded,
                    fewshot_as_multiturn=given.get("fewshot_as_multiturn"))  # fmt: skip
    logged = bool(given.get("log_samples") or given.get("predict_only"))  # predict_only logs, as lm-eval's
    return DropIn(fields=fields, how=how, output_path=ns.output_path, log_samples=logged,
                  show_config=bool(given.get("show_config")), wandb=dict(ns.wandb_args or {}),
                  cache_dir=ns.use_cache, debug=ns.verbosity == "DEBUG")  # fmt: skip


def _limit(limit: float | None) -> int | float | None:
    """lm-eval's --limit: below 1.0 a fraction of each task's documents (lm-eval rounds it up per task), else a
    count (truncated, as lm-eval's int())."""
    if limit is None:
        return None
    return limit if limit < 1.0 else int(limit)


def _samples(given: Any) -> dict[str, tuple[int, ...]] | None:
    """lm-eval's --samples: a JSON object of task -> document ids, inline or in a file (as lm-eval reads it)."""
    if given is None:
        return None
    if isinstance(given, str):
        path = Path(given).expanduser()
        if not path.is_file():
            raise UsageError(f"--samples {given}: neither a JSON object nor a file",
                             hint='e.g. --samples \'{"arc_easy": [0, 3, 7]}\'')  # fmt: skip
        try:
            given = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"--samples {given}: not a JSON file ({type(exc).__name__})") from exc
    if not isinstance(given, dict) or not given:
        raise UsageError("--samples: give a JSON object of task -> document ids", hint='e.g. {"arc_easy": [0, 3]}')
    out: dict[str, tuple[int, ...]] = {}
    for task, ids in given.items():
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise UsageError(f"--samples: {task} must map to a list of document ids (integers), not {ids!r}"[:200])
        out[str(task).removeprefix(PREFIX)] = tuple(ids)
    return out


def _gen_kwargs(given: dict[str, Any]) -> dict[str, Any]:
    """lm-eval's generation arguments as assay's --gen-kwargs (do_sample=False is greedy, assay's default)."""
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key == "do_sample" and not value:
            continue
        if key not in GEN_KEYS:
            raise UsageError(f"--gen_kwargs: {key} is not supported by assay lm-eval",
                             hint=f"supported: {', '.join(GEN_KEYS)} (and do_sample=False)")  # fmt: skip
        if key == "until":
            value = (value,) if isinstance(value, str) else tuple(value)
        out[GEN_KEYS[key]] = value
    return out
