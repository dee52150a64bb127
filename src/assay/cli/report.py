"""`assay report`: write the static HTML report (leaderboard, charts, runs, per-sample diffs)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from assay.cli.common import console
from assay.leaderboard.store import DEFAULT_LEADERBOARD


def report(
    output: Path = typer.Option(
        ..., "--output", "-o", help="Folder for the site (replaced if it holds a report)."
    ),
    leaderboard: Path = typer.Option(DEFAULT_LEADERBOARD, "--leaderboard", "-l", help="The leaderboard CSV."),
    runs: Path = typer.Option(Path("runs"), "--runs", help="Folder of run folders (each with summary.json)."),
    diff: list[str] = typer.Option(
        [], "--diff", help="Also diff these two runs: RUN_A[:MODEL],RUN_B[:MODEL] (repeatable)."
    ),
    max_samples: int = typer.Option(
        500, "--max-samples", min=1, help="Flipped samples listed per task on a diff page."
    ),
) -> None:
    """Write a self-contained static site that works offline; open OUTPUT/index.html in a browser."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from assay.report.site import build_site

    with Progress(TextColumn("writing report"), BarColumn(), MofNCompleteColumn(), console=console) as bar:

        def start(total: int) -> Callable[[], None]:
            task = bar.add_task("pages", total=total)
            return lambda: bar.advance(task)

        index = build_site(
            output, leaderboard, runs, diff_specs=diff, max_samples=max_samples, progress=start
        )
    console.print(f"wrote {index}")


def register(app: typer.Typer) -> None:
    """Add the `report` command."""
    app.command("report")(report)
