"""Whether an lm-eval task uses only features assay runs, read from its YAML alone (no data is loaded).

A task's full config is read by lm-eval's own YAML loader (`include:` chains merged, `!function` imported) and
each feature is checked against what assay supports: the four output types, no images or audio, metrics,
aggregations, filters and few-shot samplers that lm-eval's registries know (or `!function`s), and an
`unsafe_code` task's code execution going through evaluate's code_eval, which assay answers with its sandbox
(sandboxed.py: the task's module is imported with that stand-in in place). A problem is one line naming the file
and the key, so a broken task fails before any model loads (load_lmeval) and the bench can count the zoo
(bench/bench_lmeval_requests.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from assay.errors import did_you_mean
from assay.lmeval import compat

OUTPUT_TYPES = ("loglikelihood", "loglikelihood_rolling", "multiple_choice", "generate_until")
UNSAFE = "unsafe_code"  # lm-eval would run the model's code in-process: assay runs it in its sandbox
IMAGES = ("doc_to_image", "doc_to_audio")


def _registries() -> tuple[Any, Any, Any, Any, dict[str, Any]]:
    import lm_eval.api.metrics  # noqa: F401  (registers lm-eval's metrics and aggregations)
    import lm_eval.filters  # noqa: F401  (registers its filters)
    from lm_eval.api.registry import aggregation_registry, filter_registry, metric_agg_registry, metric_registry
    from lm_eval.api.samplers import SAMPLER_REGISTRY

    return metric_registry, aggregation_registry, metric_agg_registry, filter_registry, SAMPLER_REGISTRY


def config_problem(cfg: dict[str, Any]) -> str | None:
    """`key: what is unsupported` for the first feature of a resolved task config assay cannot run, else None."""
    metrics, aggregations, metric_aggs, filters, samplers = _registries()
    if "class" in cfg:
        kind = cfg.get("output_type") or getattr(cfg["class"], "OUTPUT_TYPE", None)
        if kind is not None and kind not in OUTPUT_TYPES:
            return f"class: output type {kind!r} is not one of {', '.join(OUTPUT_TYPES)}"
        return None
    kind = cfg.get("output_type", "generate_until")
    if kind not in OUTPUT_TYPES:
        return f"output_type: {kind!r} is not one of {', '.join(OUTPUT_TYPES)}"
    for key in IMAGES:
        if cfg.get(key):
            return f"{key}: {'images are' if key == 'doc_to_image' else 'audio is'} not supported"
    if cfg.get(UNSAFE):
        from assay.lmeval.sandboxed import unsafe_problem

        problem = unsafe_problem(e["metric"] for e in cfg.get("metric_list") or () if isinstance(e, dict))
        if problem:
            return problem
    for entry in cfg.get("metric_list") or ():
        if not isinstance(entry, dict) or "metric" not in entry:
            return f"metric_list: an entry without 'metric': {entry!r}"
        name, agg = entry["metric"], entry.get("aggregation")
        if isinstance(agg, str) and agg not in aggregations:
            return f"metric_list: {name}: unknown aggregation {agg!r}"
        if callable(name) or entry.get("hf_evaluate"):
            continue
        if name not in metrics and cfg.get("process_results") is None:
            close = did_you_mean(str(name), list(metrics.keys()))
            return f"metric_list: unknown metric {name!r}" + (f" ({close})" if close else "")
        if agg is None and name not in metric_aggs:
            return f"metric_list: metric {name!r} has no aggregation"
    for pipeline in cfg.get("filter_list") or ():
        for step in (pipeline or {}).get("filter") or ():
            function = step.get("function") if isinstance(step, dict) else None
            if not callable(function) and function not in filters:
                close = did_you_mean(str(function), list(filters.keys()))
                label = (pipeline or {}).get("name", "?")
                return f"filter_list: {label}: unknown filter {function!r}" + (f" ({close})" if close else "")
    sampler = (cfg.get("fewshot_config") or {}).get("sampler")
    if isinstance(sampler, str) and sampler not in samplers:
        return f"fewshot_config: sampler: unknown sampler {sampler!r}"
    if cfg.get("use_prompt"):
        import importlib.util

        if importlib.util.find_spec("promptsource") is None:
            return "use_prompt: promptsource prompts need the package promptsource"
    return None


def load_task_config(path: Path) -> dict[str, Any]:
    """A task's full config by lm-eval's own loader (includes merged, !function resolved); a failure is one
    line naming the file, line and key (see `yaml_problem`). An unsafe_code task's modules are imported with
    the sandbox's code_eval in place of evaluate's (sandboxed.py)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    compat.install()
    with _code_eval_for(path):
        try:
            cfg: dict[str, Any] = load_yaml(path, resolve_func=True)
        except (Exception, SystemExit) as exc:  # a task's module may call sys.exit when imported
            problem = yaml_problem(path, functions=True) or f"{path}: {type(exc).__name__}: {_first(exc)}"
            raise YamlProblem(problem) from exc
    for key in ("tag", "group", "task_list"):
        cfg.pop(key, None)
    return cfg


def _code_eval_for(path: Path) -> contextlib.AbstractContextManager[Any]:
    """The sandbox's code_eval for an unsafe_code task (read without importing its modules), else nothing."""
    from lm_eval.tasks._yaml_loader import load_yaml

    try:
        unsafe = bool(load_yaml(path, resolve_func=False).get(UNSAFE))
    except (Exception, SystemExit):
        unsafe = False  # the full load reports what is wrong
    if not unsafe:
        return contextlib.nullcontext()
    from assay.lmeval.sandboxed import code_sandbox

    return code_sandbox()


class YamlProblem(Exception):
    """An lm-eval YAML that does not load: the message is `FILE[:LINE]: KEY: what is wrong`."""


def yaml_problem(path: Path, seen: frozenset[Path] = frozenset(), functions: bool = False) -> str | None:
    """Why lm-eval's loader fails on `path` or a file it includes, naming that file, line and key; else None.
    Without `functions`, as lm-eval's task index reads it (`!function` not imported: a file the index skips)."""
    import yaml
    from lm_eval.tasks._yaml_loader import _import_func_in_yml, _make_loader

    path = Path(path).expanduser().resolve()
    if path in seen:
        return f"{path}: include: an include cycle"
    loader = _make_loader(path.parent, resolve_funcs=False)
    try:
        raw = yaml.load(path.read_bytes(), Loader=loader)  # noqa: S506  (lm-eval's own loader)
    except yaml.YAMLError as exc:
        return f"{path}: not valid YAML: {_first(exc)}"
    if not isinstance(raw, dict):
        return f"{path}: not a mapping of keys"
    includes = raw.get("include") or []
    for inc in includes if isinstance(includes, list) else [includes]:
        target = path.parent / inc if not Path(inc).is_absolute() else Path(inc)
        if not target.is_file():
            return f"{path}: include: {inc} does not exist"
        inner = yaml_problem(target, seen | {path}, functions)
        if inner:
            return inner
    for line, spec in _functions(path) if functions else ():
        try:
            _import_func_in_yml(spec, path.parent)
        except (Exception, SystemExit) as exc:
            return f"{path}:{line}: {_key_at(path, line)}: !function {spec}: {type(exc).__name__}: {_first(exc)}"
    return None


def _functions(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module.function) of every `!function` tag in one file."""
    import yaml

    for token in yaml.scan(path.read_text(encoding="utf-8")):
        if isinstance(token, yaml.TagToken) and token.value[1] == "function":
            yield token.start_mark.line + 1, _scalar_after(path, token.end_mark.line, token.end_mark.column)


def _scalar_after(path: Path, line: int, column: int) -> str:
    return path.read_text(encoding="utf-8").splitlines()[line][column:].strip().split("#")[0].strip()


def _key_at(path: Path, line: int) -> str:
    text = path.read_text(encoding="utf-8").splitlines()[line - 1]
    return text.split(":")[0].strip(" -") or "?"


def _first(exc: BaseException) -> str:
    return (str(exc).splitlines() or [""])[0][:200]


def task_configs(manager: Any, names: list[str], resolve: bool = True) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(task name, source file, resolved config) of every task the names (tasks, groups, tags) stand for, as
    lm-eval's TaskFactory expands them (group-level keys and a member's own keys override the task's YAML).
    Without `resolve`, the YAML alone (`!function`s not imported)."""
    from lm_eval.config.group import GroupConfig
    from lm_eval.tasks._index import Kind

    group_fields = set(GroupConfig.__dataclass_fields__)
    index = manager.task_index
    stack: list[tuple[str, dict[str, Any], str]] = [(n, {}, "") for n in reversed(names)]
    seen: set[tuple[str, str]] = set()
    while stack:
        name, overrides, source = stack.pop()
        entry = index.get(name)
        if entry is None:  # a group's inline task
            yield name, source, dict(overrides, task=name)
            continue
        if (name, repr(sorted(overrides))) in seen:
            continue
        seen.add((name, repr(sorted(overrides))))
        if entry.kind == Kind.TAG:
            stack.extend((t, overrides, source) for t in sorted(entry.tags, reverse=True))
            continue
        path = str(entry.yaml_path or "inline")
        cfg = _config(entry.yaml_path, resolve) if entry.yaml_path else dict(entry.cfg or {})
        if entry.kind != Kind.GROUP:
            yield name, path, {**cfg, **overrides}
            continue
        members = cfg.get("task") or []
        shared = {**{k: v for k, v in cfg.items() if k not in group_fields}, **overrides}
        for item in reversed(members if isinstance(members, list) else [members]):
            if isinstance(item, str):
                stack.append((item, shared, path))
            elif isinstance(item, dict) and isinstance(item.get("task"), str):
                stack.append((item["task"], {**shared, **{k: v for k, v in item.items() if k != "task"}}, path))


def _config(path: Path, resolve: bool) -> dict[str, Any]:
    if resolve:
        return load_task_config(path)
    from lm_eval.tasks._yaml_loader import load_yaml

    return {k: v for k, v in load_yaml(path, resolve_func=False).items() if k not in ("tag", "group", "task_list")}


def unsafe_selected(manager: Any, names: list[str]) -> bool:
    """Whether any task the names stand for is `unsafe_code` (read from the YAML, no module imported)."""
    try:
        return any(cfg.get(UNSAFE) for _, _, cfg in task_configs(manager, names, resolve=False))
    except Exception:  # a YAML that does not load is reported by load_lmeval; the flag then is moot
        return False


def selection_problem(manager: Any, names: list[str]) -> str | None:
    """The first task of the selection that assay cannot run, as `FILE: task lm:NAME: KEY: what`, else None."""
    try:
        for name, source, cfg in task_configs(manager, names):
            problem = config_problem(cfg)
            if problem:
                return f"{source}: task lm:{name}: {problem}"
    except YamlProblem as exc:
        return str(exc)
    return None
