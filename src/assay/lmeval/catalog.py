"""Which lm-eval tasks exist and how a user names them.

lm-eval's tasks are always named with the `lm:` prefix (`lm:arc_easy`, `lm:mmlu`, `lm:gsm8k_cot`), so an assay
task and an lm-eval task of the same name can never be confused: `arc_easy` is assay's built-in, `lm:arc_easy`
lm-eval's YAML. lm-eval's task folder is read where lm-eval is installed (`pip install 'assay[lmeval]'`),
never copied; `--include` adds a user's own lm-eval YAML files (a file or a folder), told apart from assay's
task files by their keys (`task:`/`group:`/`tag:` rather than assay's `name:`).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from assay.errors import ConfigError, DependencyError, UnknownTaskError, did_you_mean
from assay.lmeval import compat, templates

PREFIX = "lm:"
# top-level keys, in block form (`task: x`) or flow/JSON form (`{"task": "x", ...}`, as scripts write YAML)
_LMEVAL_KEY = re.compile(r"""(^|^\{\s*|,\s*)["']?(task|group|tag|include|task_list|class)["']?\s*:""", re.MULTILINE)
_ASSAY_KEY = re.compile(r"""(^|^\{\s*)["']?name["']?\s*:""", re.MULTILINE)


def lmeval_name(name: str) -> str | None:
    """The lm-eval task name of `lm:NAME`, else None."""
    return name[len(PREFIX) :] if name.startswith(PREFIX) else None


def is_lmeval_file(path: Path) -> bool:
    """Whether a YAML file (or any YAML in a folder) is in lm-eval's format rather than assay's."""
    files = [path] if path.is_file() else sorted(path.rglob("*.yaml")) + sorted(path.rglob("*.yml"))
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _LMEVAL_KEY.search(text) and not _ASSAY_KEY.search(text):
            return True
    return False


def quiet_lmeval() -> None:
    """lm-eval logs every task it builds at INFO/WARNING, and it and `datasets` draw progress bars of their own
    (request building, map(), Arrow copies) beside assay's: keep those off the terminal unless debugging."""
    import functools
    import os

    if os.environ.get("ASSAY_DEBUG"):
        return
    for name in ("lm-eval", "lm_eval", "datasets", "evaluate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import datasets
    from lm_eval.api import task
    from tqdm import tqdm

    datasets.disable_progress_bars()
    task.tqdm = functools.partial(tqdm, disable=True)  # its one bar, around build_all_requests


def task_manager(paths: tuple[str, ...], metadata: str = "") -> Any:
    """lm-eval's TaskManager over its installed tasks plus the user's include paths (indexing ~14,000 YAML files
    takes a few seconds, so it is made once per process). `metadata` (a JSON object, as metadata_key gives it)
    is merged into every task's config metadata, as lm-eval's --metadata is."""
    return _task_manager(tuple(paths), metadata)  # one cache key however the arguments are passed


@lru_cache(maxsize=4)
def _task_manager(paths: tuple[str, ...], metadata: str) -> Any:
    try:
        from lm_eval.tasks import TaskManager
    except ImportError as exc:
        raise DependencyError(
            "lm: tasks need lm-evaluation-harness, which is not installed",
            hint="pip install 'assay[lmeval]'",
        ) from exc
    quiet_lmeval()
    compat.install()  # task modules import what newer libraries dropped
    templates.install()  # each Jinja template compiled once, not once per document
    from assay.lmeval.index import cached_default_index

    resolved = [str(Path(p).resolve()) for p in paths]
    with cached_default_index():
        return TaskManager(include_path=resolved or None, metadata=json.loads(metadata) if metadata else None)


def metadata_key(metadata: dict[str, Any]) -> str:
    """task_manager's `metadata` argument for a dict: its JSON, in the given key order (lm-eval's merge keeps it)."""
    return json.dumps(metadata) if metadata else ""


@dataclass(frozen=True)
class LmevalSelection:
    """lm-eval names asked for (without the prefix), in order, and the include paths they may come from."""

    names: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()


def select_lmeval(names: Sequence[str], paths: Iterable[str] = ()) -> LmevalSelection:
    """Check `lm:` names (tasks, groups, tags or glob patterns) against lm-eval's index; unknown ones fail."""
    paths = tuple(paths)
    wanted = [n for n in (lmeval_name(raw.strip()) for raw in names) if n is not None]
    if not wanted:
        return LmevalSelection(paths=paths)
    manager = task_manager(paths)
    known = set(manager.all_tasks)
    chosen: list[str] = []
    for name in wanted:
        if name in known:
            matched = [name]
        elif any(ch in name for ch in "*?["):
            matched = sorted(t for t in known if fnmatch.fnmatchcase(t, name))
            if not matched:
                raise UnknownTaskError(f"no lm-eval task matches the pattern {PREFIX}{name!r}",
                                       hint="see `assay tasks 'lm:*'`")  # fmt: skip
        else:
            _broken_include(paths)
            close = did_you_mean(name, sorted(known))
            raise UnknownTaskError(
                f"unknown lm-eval task {PREFIX}{name}",
                hint=close.replace("'", f"'{PREFIX}", 1).replace(" or '", f" or '{PREFIX}")
                if close
                else "see `assay tasks 'lm:*'`",
            )
        chosen.extend(m for m in matched if m not in chosen)
    return LmevalSelection(names=tuple(chosen), paths=paths)


def _broken_include(paths: Iterable[str]) -> None:
    """lm-eval's index skips a YAML file it cannot read, so a task there is 'unknown': name the file instead."""
    from assay.lmeval.features import yaml_problem

    for root in paths:
        top = Path(root)
        for file in [top] if top.is_file() else sorted(top.rglob("*.yaml")):
            problem = yaml_problem(file)
            if problem:
                raise ConfigError(problem)


def lmeval_listing(pattern: str, paths: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """(prefixed name, kind, source YAML) of every lm-eval task, group or tag matching `pattern` (`lm:` form)."""
    bare = lmeval_name(pattern) or pattern
    manager = task_manager(tuple(paths))
    rows = []
    for name, entry in manager.task_index.items():
        if fnmatch.fnmatchcase(name, bare):
            kind = str(getattr(entry.kind, "name", entry.kind)).lower().replace("py_task", "task")
            rows.append((PREFIX + name, kind, _shown(entry.yaml_path)))
    return sorted(rows)


def _shown(path: Any) -> str:
    """A task's YAML as `lm-eval:arc/arc_easy.yaml` when it is lm-eval's own, else the path."""
    if not path:
        return "(python class)"
    import lm_eval.tasks

    root = Path(lm_eval.tasks.__file__).parent
    path = Path(path)
    return f"lm-eval:{path.relative_to(root)}" if path.is_relative_to(root) else str(path)
