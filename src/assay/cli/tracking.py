"""`assay tracking log RUN` and `assay tracking serve`: experiment tracking from the command line."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import console, console_err
from assay.errors import UsageError

tracking_app = typer.Typer(help="Experiment tracking: log runs to MLflow or W&B (offline); serve the UI.")

URI_HELP = "MLflow tracking URI (default: MLFLOW_TRACKING_URI, else ./mlflow.db with ./mlartifacts)."


@tracking_app.command("log")
def log_command(
    run: str = typer.Argument(..., help="A run id or run folder."),
    output: Path = typer.Option(Path("runs"), "--output", help="Where run ids are looked up."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    experiment: str | None = typer.Option(None, "--experiment", help="Default {Task}-{Family}."),
    run_name: str | None = typer.Option(None, "--run-name", help="Run name (default {model}-{variant})."),
    tracker: str = typer.Option("mlflow", "--tracker", help="mlflow or wandb (offline)."),
    force: bool = typer.Option(False, "--force", help="Log again even if this run was logged before."),
) -> None:
    """Log a finished run (params, metrics with stderr, tags, artifacts, datasets) after the fact."""
    from assay.runs.folder import resolve_run

    if tracker not in {"mlflow", "wandb"}:
        raise UsageError(f"unknown tracker {tracker!r}", hint="use --tracker mlflow or --tracker wandb")
    run_dir = resolve_run(run, output)
    if tracker == "wandb":
        from assay.tracking.wandb_log import log_run_wandb

        folder = log_run_wandb(run_dir, project=experiment, run_name=run_name)
        console.print(f"logged {run_dir.name} to W&B (offline) at {folder}")
        console.print(f"sync later with: wandb sync {folder}")
        return
    from assay.tracking.mlflow_log import log_runs

    for logged in log_runs(run_dir, tracking_uri, experiment, run_name=run_name, force=force):
        verb = "already logged as" if logged.already_logged else "logged"
        console.print(
            f"{verb} MLflow run {logged.run_id} ({logged.run_name}) in experiment {logged.experiment!r} "
            f"at {logged.tracking_uri}"
        )


@tracking_app.command("serve")
def serve_command(
    port: int = typer.Option(5000, "--port", min=1, max=65535, help="Port on 127.0.0.1."),
    backend_store: Path = typer.Option(
        Path("."), "--backend-store", help="Folder holding mlflow.db and mlartifacts/ (default: here)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
) -> None:
    """Start the MLflow UI and tracking server on the local store; Ctrl-C stops it."""
    from assay.tracking.server import start_server

    console_err.print(f"starting the MLflow server on {backend_store.resolve()} (takes ~10 s) ...")
    handle = start_server(backend_store, port=port, host=host)
    console.print(f"MLflow UI: {handle.url}   (log: {handle.log_path}; Ctrl-C stops it)")
    console.print(f"log to it with: --tracking-uri {handle.url}")
    try:
        handle.process.wait()
    except KeyboardInterrupt:
        console_err.print("stopping the MLflow server")
    finally:
        handle.stop()


def register(app: typer.Typer) -> None:
    """Add the `tracking` command group."""
    app.add_typer(tracking_app, name="tracking")
