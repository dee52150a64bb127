"""One lm-eval evaluation per model, answered by assay's model and written as assay records.

lm-eval's own `simple_evaluate` builds the requests (templates, few-shot sampling with its seed, repeats),
applies filters, process_results, aggregations and group scores, so every number is lm-eval's; the model it
is handed is AssayLM (adapter.py). Its output becomes TaskResults (metric `acc`, or `exact_match,strict-match`
for a filter other than `none`; groups marked as such) and one SampleResult per document, whose extras keep
lm-eval's own sample log (`extras["lm_eval"]`: doc, arguments, resps, filtered_resps, metrics, hashes), so that
lm-eval's output files can be written from a run folder.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from assay.config import RunConfig
from assay.data.sources import rows_sha256
from assay.errors import ConfigError, UsageError, did_you_mean
from assay.lmeval.catalog import PREFIX, LmevalSelection, metadata_key, quiet_lmeval, task_manager
from assay.lmeval.features import UNSAFE, selection_problem, unsafe_selected
from assay.lmeval.rows import local_rows
from assay.lmeval.sandboxed import code_sandbox, unsafe_problem, with_verdicts
from assay.models.cache import CachedModel
from assay.progress import RunProgress
from assay.records import JSON, MetricValue, ModelInfo, SampleResult, Score, TaskResult, stable_hash

_GEN_KEYS = {"max_tokens": "max_gen_toks", "stop": "until"}  # assay's --gen-kwargs names -> lm-eval's


def load_lmeval(selection: LmevalSelection, data_dir: Path | None, config: RunConfig) -> dict[str, Any]:
    """Build the selected tasks once, before the run starts: missing data, broken YAML or an unsupported feature
    fail here, in one line, before any model loads. Returns lm-eval's task dict."""
    if not selection.names:
        return {}
    quiet_lmeval()
    manager = task_manager(selection.paths, metadata_key(config.metadata))
    problem = selection_problem(manager, list(selection.names))
    if problem:
        unsafe = f": {UNSAFE}:" in problem
        raise ConfigError(problem, hint="tasks scored by evaluate's code_eval (lm:humaneval, lm:mbpp) run in "
                          "assay's sandbox; so do assay's own humaneval/mbpp" if unsafe else None)  # fmt: skip
    try:
        with local_rows(data_dir, config.fewshot_split):
            loaded: dict[str, Any] = manager.load(list(selection.names))
    except (UsageError, ConfigError) as exc:
        raise exc
    except Exception as exc:
        if exc.__class__.__module__.startswith("assay"):
            raise
        first = (str(exc).splitlines() or [""])[0][:240]
        names = ", ".join(PREFIX + n for n in selection.names)
        raise ConfigError(f"lm-eval could not build {names}: {type(exc).__name__}: {first}",
                          hint="check the task's YAML (rerun with --debug)") from exc  # fmt: skip
    for name, task in loaded["tasks"].items():
        source = task.config.metadata.get("config_source", "") if isinstance(task.config.metadata, dict) else ""
        if getattr(task, "MULTIMODAL", False):
            raise ConfigError(f"{source or name}: task {PREFIX}{name}: doc_to_image: images are not supported")
        functions = getattr(task, "_metric_fn_list", {}).values()
        not_sandboxed = unsafe_problem(functions) if getattr(task, "UNSAFE_CODE", False) else None
        if not_sandboxed:  # e.g. its module was imported before assay put the sandbox's code_eval in place
            raise ConfigError(f"{source or name}: task {PREFIX}{name}: {not_sandboxed}")
    _check_samples(loaded["tasks"], config.samples)
    _PREBUILT.clear()  # one slot: the run that follows this check takes these tasks instead of building them again
    _PREBUILT[_build_key(selection, data_dir, config)] = loaded
    return loaded


# lm-eval's task dict built by load_lmeval (a few seconds), taken once by the evaluation of the same selection
_PREBUILT: dict[tuple[Any, ...], dict[str, Any]] = {}


def _build_key(selection: LmevalSelection, data_dir: Path | None, config: RunConfig) -> tuple[Any, ...]:
    """What lm-eval's built tasks depend on: names, include paths, the rows' folder, the few-shot split and the
    task metadata."""
    return selection.names, selection.paths, str(data_dir), config.fewshot_split, metadata_key(config.metadata)


def _check_samples(tasks: dict[str, Any], samples: dict[str, tuple[int, ...]] | None) -> None:
    """--samples names selected tasks and documents they have (lm-eval ignores an unknown name and asserts on
    an index past the end, mid-run)."""
    for name, ids in (samples or {}).items():
        if name not in tasks:
            names = list(tasks)
            listed = ", ".join(names[:5]) + (f", ... ({len(names)} tasks)" if len(names) > 5 else "")
            raise UsageError(f"--samples: {name} is not one of the tasks evaluated",
                             hint=did_you_mean(name, names) or f"they are: {listed}")  # fmt: skip
        size = len(tasks[name].eval_docs)
        bad = [i for i in ids if not 0 <= i < size]
        if bad:
            raise UsageError(f"--samples: {name} has {size} documents (ids 0 to {size - 1}); {bad[0]} is not one")


@contextlib.contextmanager
def env_info_later() -> Iterator[None]:
    """lm-eval's results get `pretty_env_info` from torch's collect_env, which runs about ten subprocesses (pip
    list, nvidia-smi, ...): 1.4 s of every run on this machine. It describes the environment only for lm-eval's
    own results file, so here it is left None and filled in when that file is written (lmeval/output.py), on
    the same machine, only by the runs that write it."""
    from lm_eval import evaluator

    add_env_info = evaluator.add_env_info

    def later(storage: dict[str, Any]) -> None:
        from torch.utils import collect_env

        real = collect_env.get_pretty_env_info
        collect_env.get_pretty_env_info = lambda: None  # type: ignore[assignment,return-value]
        try:
            add_env_info(storage)
        finally:
            collect_env.get_pretty_env_info = real

    evaluator.add_env_info = later
    try:
        yield
    finally:
        evaluator.add_env_info = add_env_info


class _Prebuilt:
    """lm-eval's TaskManager for one simple_evaluate call whose tasks load_lmeval has already built."""

    def __init__(self, manager: Any, loaded: dict[str, Any]) -> None:
        self._manager, self._loaded = manager, loaded

    def load(self, task_list: Any) -> dict[str, Any]:
        return self._loaded

    def __getattr__(self, name: str) -> Any:
        return getattr(self._manager, name)


Outcome = tuple[list[TaskResult], dict[str, list[SampleResult]], JSON]


def evaluate_lmeval(selection: LmevalSelection, model: CachedModel, info: ModelInfo, config: RunConfig,
                    data_dir: Path | None, progress: RunProgress) -> Outcome:  # fmt: skip
    """(task and group results, samples per task, lm-eval's own result dict) of one model on the lm: tasks."""
    from lm_eval.evaluator import simple_evaluate

    from assay.lmeval.adapter import AssayLM

    tokenizer = chat_tokenizer(info) if config.apply_chat_template else None
    lm = AssayLM(model, progress, info.name, config.seed, tokenizer)
    gen_kwargs = {_GEN_KEYS.get(k, k): v for k, v in config.gen_kwargs.items()} or None
    manager = task_manager(selection.paths, metadata_key(config.metadata))
    built = _PREBUILT.pop(_build_key(selection, data_dir, config), None)  # a second model builds its own
    # lm-eval labels the k-th selected document (in dataset order) with the k-th id as given: sorted, they agree
    doc_ids = {name: sorted(set(ids)) for name, ids in config.samples.items()} if config.samples else None
    # unsafe_code tasks: code_eval runs each program in assay's sandbox (sandboxed.py), never in this process
    unsafe = unsafe_selected(manager, list(selection.names))
    sandbox = code_sandbox(hide=(str(data_dir),) if data_dir else ()) if unsafe else contextlib.nullcontext()
    with local_rows(data_dir, config.fewshot_split), sandbox as verdicts, env_info_later():
        out = simple_evaluate(model=lm, tasks=list(selection.names), num_fewshot=config.num_fewshot,
                              limit=config.limit, samples=doc_ids, predict_only=config.predict_only,
                              confirm_run_unsafe_code=unsafe,
                              task_manager=manager if built is None else _Prebuilt(manager, built),
                              log_samples=True, gen_kwargs=gen_kwargs, fewshot_random_seed=config.fewshot_seed,
                              apply_chat_template=config.apply_chat_template,
                              fewshot_as_multiturn=config.fewshot_as_multiturn,
                              system_instruction=config.system_instruction)  # fmt: skip
    samples = {PREFIX + task: _samples(PREFIX + task, info.name, rows) for task, rows in out["samples"].items()}
    if verdicts is not None:
        samples = with_verdicts(samples, verdicts)
    return _results(out, info.name, samples), samples, out


def chat_tokenizer(info: ModelInfo) -> Any:
    """The tokenizer whose chat template renders lm-eval's prompts: the hf backend's own (this process may hold
    no model: with --executor ray the workers do)."""
    if info.backend != "hf":
        raise ConfigError(
            f"--apply-chat-template with lm: tasks needs the hf backend's tokenizer, not {info.backend}",
            hint="run it with an hf model",
        )
    from transformers import AutoTokenizer

    args = info.args
    kwargs = {k: args[k] for k in ("revision", "gguf_file", "trust_remote_code") if args.get(k) is not None}
    return AutoTokenizer.from_pretrained(str(args["pretrained"]), **kwargs)


def results_path(folder: Path, model: str) -> Path:
    """Where a run folder keeps lm-eval's own aggregate result dict of one model: lm_eval/<model>.json."""
    from assay.runs.layout import safe_name

    return folder / f"{safe_name(model)}.json"


def write_lmeval_results(folder: Path, model: str, raw: JSON) -> None:
    """lm-eval's result dict without its samples (those are in the samples files' extras): results, groups,
    group_subtasks, configs, versions, n-shot, higher_is_better, n-samples, config, git_hash, date, timings."""
    from assay.runs.layout import write_json_atomic

    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(results_path(folder, model), _plain({k: v for k, v in raw.items() if k != "samples"}))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _results(out: JSON, model: str, samples: dict[str, list[SampleResult]]) -> list[TaskResult]:
    groups = out.get("group_subtasks", {})
    results = []
    for name, values in out["results"].items():
        n = _size(name, out)
        higher = out.get("higher_is_better", {}).get(name, {})
        metrics: dict[str, MetricValue] = {}
        for key, value in values.items():
            metric, _, filt = key.partition(",")
            if not filt or metric.endswith("_stderr") or _number(value) is None:
                continue
            stderr = _number(values.get(f"{metric}_stderr,{filt}"))
            label = metric if filt == "none" else key
            metrics[label] = MetricValue(value=float(value), stderr=stderr, n=n,
                                         higher_is_better=bool(higher.get(metric, True)),
                                         stderr_method="lm-eval")  # fmt: skip
        rows = [s.extras["lm_eval"][0]["doc"] for s in samples.get(PREFIX + name, [])]
        results.append(TaskResult(
            model=model, task=PREFIX + name, metrics=metrics, n_samples=n,
            dataset=_dataset(out, name), dataset_sha256=rows_sha256(rows) if rows else "",
            task_version=str(out.get("versions", {}).get(name, "")), is_group=name in groups and bool(groups[name]),
            subtasks=tuple(PREFIX + s for s in groups.get(name, ())),
        ))  # fmt: skip
    return results


def _size(name: str, out: JSON) -> int:
    """Documents scored: a task's effective count, a group's sum over its subtasks."""
    counts = out.get("n-samples", {})
    if name in counts:
        return int(counts[name].get("effective", 0))
    return sum(_size(sub, out) for sub in out.get("group_subtasks", {}).get(name, ()))


def _dataset(out: JSON, name: str) -> str:
    cfg = out.get("configs", {}).get(name, {})
    path = cfg.get("dataset_path")
    if not path:
        return ""
    split = cfg.get("test_split") or cfg.get("validation_split") or ""
    return f"{path}/{cfg.get('dataset_name') or 'default'}/{split}"


def _samples(task: str, model: str, logged: Sequence[JSON]) -> list[SampleResult]:
    """One SampleResult per document (lm-eval logs one entry per document and filter)."""
    by_doc: dict[int, list[JSON]] = {}
    for entry in logged:
        by_doc.setdefault(int(entry["doc_id"]), []).append(entry)
    return [_sample(task, model, doc_id, entries) for doc_id, entries in sorted(by_doc.items())]


def _sample(task: str, model: str, doc_id: int, entries: list[JSON]) -> SampleResult:
    first = entries[0]
    arguments = first["arguments"]
    scores = []
    for entry in entries:
        for metric in entry["metrics"]:
            label = metric if entry["filter"] == "none" else f"{metric},{entry['filter']}"
            value = entry.get(metric)
            detail = "" if _number(value) is not None else "corpus-level: aggregated over the task"
            scores.append(Score(metric=label, value=_number(value), detail=detail))
    kind = "generate" if arguments and isinstance(_arg(arguments[0], 1), dict) else "loglikelihood"
    resps = first["resps"]
    loglikelihoods: tuple[float, ...] = ()
    outputs: tuple[str, ...] = ()
    prediction: Any = ""
    choices: tuple[str, ...] = ()
    if kind == "generate":
        outputs = tuple(str(r) for resp in resps for r in resp)
        filtered = first["filtered_resps"]
        prediction = str(filtered[0] if isinstance(filtered, list) and filtered else filtered)
    else:
        loglikelihoods = tuple(float(_first(r)) for r in resps)
        if len(arguments) > 1:
            choices = tuple(str(_arg(a, 1)) for a in arguments)
            prediction = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
    target = first.get("target")
    target_value: Any = (tuple(str(t) for t in target) if isinstance(target, list)
                         else target if isinstance(target, int | str) else str(target))  # fmt: skip
    return SampleResult(
        sample_id=f"{task}/{doc_id}-{stable_hash(first['doc_hash'], 8)}",
        task=task, model=model, prompt=str(_arg(arguments[0], 0)) if arguments else "",
        target=target_value, prediction=prediction, scores=tuple(scores), choices=choices,
        loglikelihoods=loglikelihoods, outputs=outputs, extras={"lm_eval": [_plain(e) for e in entries]},
    )  # fmt: skip


def _arg(args: Any, i: int) -> Any:
    args = args if isinstance(args, list | tuple) else [args]
    return args[i] if len(args) > i else ""


def _first(resp: Any) -> Any:
    while isinstance(resp, list | tuple):
        resp = resp[0]
    return resp


def _plain(value: Any) -> Any:
    """lm-eval's sample log as JSON keeps it (tuples as lists, anything else as its string)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
