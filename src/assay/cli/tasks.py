"""`assay tasks`: list the tasks and groups assay knows, with a filter."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import typer

from assay.cli._table import Cell, Col, print_table
from assay.cli.common import console, styled
from assay.errors import UsageError, did_you_mean
from assay.lmeval.catalog import PREFIX
from assay.tasks.build import prepare
from assay.tasks.catalog import BUILTIN_DIR, all_tasks, groups_of, split_files


def register(app: typer.Typer) -> None:
    @app.command("tasks")
    def tasks(
        pattern: str = typer.Argument("*", help="Glob or substring to filter names, e.g. 'mmlu_*' or arc."),
        include: list[str] = typer.Option([], "--include", help="Extra task YAML file or folder."),
    ) -> None:
        """List tasks (name, type, dataset, metrics) and groups; `lm:` patterns list lm-eval's tasks (source YAML)."""
        own_files, lmeval_files = split_files(include)
        if pattern.startswith(PREFIX):
            _list_lmeval(pattern, lmeval_files)
            return
        known = all_tasks(own_files)  # templates and expressions of included files are compiled here
        for spec in known.values():  # and their own data files read: every row must render
            if spec.dataset.data_files and not Path(spec.source).is_relative_to(BUILTIN_DIR):
                prepare(spec, None, None, None, 1234)

        def keep(name: str) -> bool:
            return fnmatch.fnmatchcase(name, pattern) or (pattern.strip("*") in name)

        chosen = [name for name in sorted(known) if keep(name)]
        groups = {g: m for g, m in groups_of(known).items() if keep(g)}
        if not chosen and not groups:
            raise UsageError(
                f"no task or group matches {pattern!r}",
                hint=did_you_mean(pattern, sorted([*known, *groups_of(known)]))
                or "`assay tasks` lists them all; a pattern is a glob (mmlu_*) or a part of a name",
            )
        rows: list[list[Cell]] = []
        for name in chosen:
            t = known[name]
            dataset = t.dataset.data_files or f"{t.dataset.path}/{t.dataset.name or 'default'}"
            metrics = ", ".join(m.label for m in t.metrics)
            rows.append([name, t.output_type, dataset, t.dataset.split, metrics, ", ".join(t.groups)])
        if rows:
            cols = [Col("name"), Col("type"), Col("dataset", kind="path"), Col("split"), Col("metrics"),
                    Col("groups")]  # fmt: skip
            print_table(console, cols, rows, title="tasks")
        groups = {g: m for g, m in groups_of(known).items() if keep(g)}
        for group, members in sorted(groups.items()):
            console.print(styled((group, "bold"), f" (group of {len(members)})"))
        console.print(f"lm-eval's own tasks are named {PREFIX}NAME: assay tasks '{PREFIX}*' lists them")


def _list_lmeval(pattern: str, paths: list[str]) -> None:
    """lm-eval's tasks, groups and tags matching an `lm:` pattern, with the YAML each comes from."""
    from assay.lmeval.catalog import lmeval_listing, task_manager

    rows = lmeval_listing(pattern, paths)
    if not rows:
        known = [PREFIX + n for n in task_manager(tuple(paths)).all_tasks]
        hint = did_you_mean(pattern, known) or f"a pattern is a glob, e.g. '{PREFIX}mmlu_*'"
        raise UsageError(f"no lm-eval task, group or tag matches {pattern!r}", hint=hint)
    cols = [Col("name"), Col("kind"), Col("source")]
    print_table(console, cols, [list(r) for r in rows], title=f"lm-eval tasks ({len(rows)})")
