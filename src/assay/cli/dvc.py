"""`assay dvc init|diff|leaderboard`: a DVC pipeline over assay runs (see assay.dvc)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from assay.cli._table import Col, print_table
from assay.cli.common import console, console_err
from assay.errors import UsageError

dvc_app = typer.Typer(help="Versioning with DVC: a pipeline of assay runs, and paired diffs of revisions.")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@dvc_app.command("init")
def init_command(
    models: str = typer.Option(
        "", "--models", help="Comma-separated [KEY=]alias, checkpoint path or models:/Name@alias."
    ),
    tasks: str = typer.Option("", "--tasks", help="Comma-separated tasks (or groups)."),
    limit: int = typer.Option(100, "--limit", min=1, help="Rows per task (params.yaml tasks.<task>.limit)."),
    num_fewshot: int | None = typer.Option(None, "--num-fewshot", min=0, help="Default: each task's own."),
    seed: int = typer.Option(1234, "--seed"),
    batch_size: str = typer.Option("8", "--batch-size", help="An integer or 'auto'."),
    data_dir: str = typer.Option("data", "--data-dir", help="The data folder (e.g. under `dvc add`)."),
    force: bool = typer.Option(False, "--force", help="Replace a hand-written dvc.yaml or params.yaml."),
    refresh: bool = typer.Option(
        False, "--refresh", help="Only recompute the models' fingerprints in params.yaml."
    ),
) -> None:
    """Write params.yaml and dvc.yaml: one `assay run` stage per model x task, and a leaderboard stage."""
    from assay.dvc import pipeline

    params, dvcfile = Path("params.yaml"), Path("dvc.yaml")
    if refresh:
        changed = pipeline.refresh_fingerprints(params)
        for key, old, new in changed:
            console.print(f"{key}: fingerprint {old} -> {new} (its stages rerun on the next `dvc repro`)")
        if not changed:
            console.print("every model's fingerprint is unchanged")
        return
    if not Path(".dvc").is_dir():
        raise UsageError("this folder is not a DVC repository", hint="run `git init && dvc init` here first")
    if not _split(models) or not _split(tasks):
        raise UsageError("give --models and --tasks", hint="e.g. --models smollm2-135m --tasks arc_easy,piqa")
    for path in (dvcfile, params):
        pipeline.check_replaceable(path, force)
    if not Path(data_dir).exists():
        raise UsageError(f"no data folder {data_dir}", hint="copy or `dvc pull` it, or pass --data-dir")
    chosen = [pipeline.describe(m) for m in _split(models)]
    keys = [m.key for m in chosen]
    if len(set(keys)) != len(keys):
        raise UsageError(f"two models share a key: {keys}", hint="name them: --models a=PATH,b=PATH")
    task_list = pipeline.check_tasks(_split(tasks), limit, num_fewshot)
    batch: int | str = int(batch_size) if batch_size.isdigit() else batch_size
    layout = pipeline.Layout(data_dir=data_dir.rstrip("/"))
    pipeline.write_all({
        params: pipeline.params_document(chosen, task_list, seed, batch),
        dvcfile: pipeline.dvc_document(chosen, task_list, layout),
    })  # fmt: skip
    console.print(f"wrote {dvcfile} ({len(chosen) * len(task_list)} run stages + leaderboard) and {params}")
    console.print("run it with `dvc repro`; compare revisions with `assay dvc diff`")


@dvc_app.command("diff")
def diff_command(
    rev_a: str = typer.Argument("HEAD", help="Git revision A (default: HEAD)."),
    rev_b: str = typer.Argument("workspace", help="Git revision B (default: the workspace)."),
    runs: str = typer.Option("runs", "--runs", help="The pipeline's run folders."),
    seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap resampling."),
) -> None:
    """Per-task deltas between two revisions' run folders, paired by sample id, with test and interval."""
    from assay.dvc.diff import diff_revisions, pairing_notes, rows

    with tempfile.TemporaryDirectory(prefix="assay-dvc-diff-") as scratch:
        result = diff_revisions(rev_a, rev_b, runs, Path(scratch), seed)
    header, cells = rows(result)
    cols = [Col(c, right=c in {"paired", "delta", "p", rev_a, rev_b}, kind="path" if c == "stage" else "text")
            for c in header]  # fmt: skip
    print_table(console, cols, cells, title=f"{rev_a} -> {rev_b} (delta = B - A, paired by sample id)")
    for note in pairing_notes(result):
        console.print(note, soft_wrap=False)
    for name in result.only_a:
        console_err.print(f"only in {rev_a}: {runs}/{name}")
    for name in result.only_b:
        console_err.print(f"only in {rev_b}: {runs}/{name}")


@dvc_app.command("leaderboard")
def leaderboard_command(
    pairs: list[str] = typer.Argument(..., help="KEY=RUN_FOLDER for each stage's run."),
    output: Path = typer.Option(Path("results/leaderboard.csv"), "--output", "-o", help="The CSV to write."),
) -> None:
    """Write a leaderboard CSV afresh from the pipeline's run folders (the final stage of dvc.yaml)."""
    from assay.dvc.collect import parse_pairs, write_leaderboard

    count = write_leaderboard(parse_pairs(pairs), output)
    console.print(f"wrote {count} rows to {output}")


def register(app: typer.Typer) -> None:
    """Add the `dvc` command group."""
    app.add_typer(dvc_app, name="dvc")
