"""Find tasks by name, group or glob pattern: the built-in ones plus any YAML files the user adds."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from assay.errors import UnknownTaskError, did_you_mean
from assay.lmeval.catalog import PREFIX, LmevalSelection, is_lmeval_file, select_lmeval
from assay.tasks.build import check_task
from assay.tasks.mmlu import mmlu_tasks
from assay.tasks.spec import TaskSpec, load_task_file

BUILTIN_DIR = Path(__file__).parent / "builtin"


@dataclass(frozen=True)
class Selection:
    """What the user asked for, resolved: leaf tasks to run, and groups to aggregate (group -> members);
    `lmeval`: the `lm:` tasks, which lm-evaluation-harness's own code defines (assay.lmeval)."""

    tasks: tuple[TaskSpec, ...]
    groups: dict[str, tuple[str, ...]]
    lmeval: LmevalSelection = LmevalSelection()


@lru_cache(maxsize=1)
def _builtin() -> tuple[TaskSpec, ...]:
    specs: list[TaskSpec] = list(mmlu_tasks())
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        specs.extend(load_task_file(path))
    return tuple(specs)


def all_tasks(extra_files: Iterable[str] = ()) -> dict[str, TaskSpec]:
    """Every known task by name; user files (a YAML or a folder of them) may add or override."""
    tasks = {t.name: t for t in _builtin()}
    for item in extra_files:
        path = Path(item)
        files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
        for file in files:
            for spec in load_checked(file):
                tasks[spec.name] = spec
    return tasks


def load_checked(path: Path) -> list[TaskSpec]:
    """A user's task file, validated: schema (when loading), then every template and expression compiles."""
    specs = load_task_file(path)
    for spec in specs:
        check_task(spec)
    return specs


def groups_of(tasks: dict[str, TaskSpec]) -> dict[str, tuple[str, ...]]:
    groups: dict[str, list[str]] = {}
    for spec in tasks.values():
        for group in spec.groups:
            groups.setdefault(group, []).append(spec.name)
    return {g: tuple(sorted(members)) for g, members in groups.items()}


def split_files(extra_files: Iterable[str]) -> tuple[list[str], list[str]]:
    """(assay task files, lm-eval task files or folders) among the user's --include paths."""
    own: list[str] = []
    lmeval: list[str] = []
    for item in extra_files:
        path = Path(item)
        (lmeval if path.exists() and is_lmeval_file(path) else own).append(item)
    return own, lmeval


def select(names: Sequence[str], extra_files: Iterable[str] = ()) -> Selection:
    """Resolve names, groups (`mmlu`) and globs (`mmlu_*`), keeping the order given, without duplicates;
    `lm:` names are lm-eval's tasks (assay.lmeval)."""
    own_files, lmeval_files = split_files(extra_files)
    lmeval = select_lmeval(names, lmeval_files)
    names = [n for n in names if not n.strip().startswith(PREFIX)]
    tasks = all_tasks(own_files)
    groups = groups_of(tasks)
    chosen: dict[str, TaskSpec] = {}
    chosen_groups: dict[str, tuple[str, ...]] = {}
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        if Path(name).suffix in {".yaml", ".yml"} and Path(name).exists():
            for spec in load_checked(Path(name)):
                chosen.setdefault(spec.name, spec)
            continue
        if name in tasks:
            chosen.setdefault(name, tasks[name])
        elif name in groups:
            chosen_groups[name] = groups[name]
            for member in groups[name]:
                chosen.setdefault(member, tasks[member])
        elif any(ch in name for ch in "*?["):
            matched = sorted(t for t in tasks if fnmatch.fnmatchcase(t, name))
            if not matched:
                raise UnknownTaskError(f"no task matches the pattern {name!r}", hint="see `assay tasks`")
            for member in matched:
                chosen.setdefault(member, tasks[member])
        else:
            hint = did_you_mean(name, list(tasks) + list(groups))
            if not hint and lmeval_files and _lmeval_knows(name, lmeval_files):
                hint = f"an lm-eval task of your --include: name it {PREFIX}{name}"
            raise UnknownTaskError(f"unknown task {name!r}", hint=hint or "see `assay tasks` for the list")
    if not chosen and lmeval.names:
        return Selection(tasks=(), groups={}, lmeval=lmeval)
    if not chosen:
        raise UnknownTaskError("no tasks given", hint="pass --tasks, e.g. --tasks arc_easy,hellaswag")
    # a group whose every member is selected is also reported, e.g. the four mmlu category groups
    for group, members in groups.items():
        if group not in chosen_groups and len(members) > 1 and all(m in chosen for m in members):
            chosen_groups[group] = members
    return Selection(tasks=tuple(chosen.values()), groups=chosen_groups, lmeval=lmeval)


def _lmeval_knows(name: str, paths: Sequence[str]) -> bool:
    from assay.lmeval.catalog import task_manager

    return name in task_manager(tuple(paths)).all_tasks
