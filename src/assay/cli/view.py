"""`assay view RUN ...`: the sample explorer on a local server."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import console, console_err, styled
from assay.errors import DependencyError, UsageError


def view(
    runs: list[str] = typer.Argument(
        ..., metavar="RUN", help="Run ids (under --runs-dir) or run folders; unfinished ones too."
    ),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0 picks a free one)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    runs_dir: Path = typer.Option(Path("runs"), "--runs-dir", help="Where run ids are looked up."),
) -> None:
    """Explore the samples of one run or several in the browser: every prompt, choice and loglikelihood,
    output, score and code verdict; filters, search, and model against model on the same samples."""
    try:
        from assay.human.server import listen
        from assay.view.server import ViewApp, serve
    except ImportError as exc:
        raise DependencyError(
            f"assay view needs {exc.name}", hint="pip install 'assay[human]' (werkzeug and waitress)"
        ) from None
    from assay.view.runs import open_view_runs

    opened = open_view_runs(runs, runs_dir)
    if not any(r.units for r in opened):
        raise UsageError("the runs hold no samples files", hint="samples are in <run>/samples/*.jsonl")
    for run in opened:
        if run.unfinished:
            console_err.print(
                styled(("note:", "yellow"), f" run {run.run_id} is unfinished: showing the "
                       f"{len(run.units)} task(s) it finished ({run.path})")
            )  # fmt: skip
    sock = listen(host, port)

    def announce(url: str) -> None:
        console.print(styled("sample explorer: ", (url, "bold"), " (Ctrl-C to stop)"), highlight=False)

    app = ViewApp(opened)
    app.warm()
    serve(app, sock, announce)


def register(app: typer.Typer) -> None:
    """Add the `view` command."""
    app.command("view")(view)
