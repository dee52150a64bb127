"""`assay registry register|promote|list|show`: the model registry workflow on MLflow."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import typer
from rich.table import Table

from assay.cli.common import console, console_err, parse_kv, styled
from assay.errors import TrackingError

registry_app = typer.Typer(help="Model registry: register and promote versions (champion, challenger).")
URI_HELP = "MLflow tracking/registry URI (default: MLFLOW_TRACKING_URI, else ./mlflow.db)."


def _require_store(tracking_uri: str | None) -> None:
    from assay.tracking.store import require_store

    require_store(tracking_uri)


@registry_app.command("register")
def register_command(
    name: str = typer.Argument(..., help="Registered model name, PascalCase (InstructionFollower)."),
    model: str = typer.Option(..., "--model", "-m", help="A checkpoint folder or file, or a model alias."),
    model_args: str | None = typer.Option(None, "--model-args", help="key=value,... (backend=hf, ...)."),
    run: str | None = typer.Option(None, "--run", help="The run (id or folder) that evaluated this model."),
    output: Path = typer.Option(Path("runs"), "--output", help="Where run ids are looked up."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
    any_name: bool = typer.Option(False, "--any-name", help="Allow a name that is not PascalCase."),
    reference_only: bool = typer.Option(
        False, "--reference-only", help="Record where the files are instead of logging them as artifacts."
    ),
) -> None:
    """Register a checkpoint or alias as a new version: its files (logged to the tracking server's artifact
    store), fingerprint and benchmark results."""
    from assay.tracking.model_registry import register_model

    info = register_model(
        name, model, run=run, runs_output=output, args=parse_kv(model_args),
        tracking_uri=tracking_uri, allow_any_name=any_name, reference_only=reference_only,
    )  # fmt: skip
    for warning in info.warnings:
        console_err.print(styled(("warning:", "yellow"), f" {warning}"))
    fingerprint = info.tags["assay.fingerprint"]
    console.print(f"registered {info.name} version {info.version} (fingerprint {fingerprint})")
    if "assay.artifact" in info.tags:
        size = int(info.tags["assay.size_bytes"]) / 1e6
        console.print(f"logged {info.tags['assay.files']} files ({size:.1f} MB) to {info.source}")
    else:
        console.print(f"reference only: the files stay at {info.tags['assay.path']}")
    console.print(f"use it as models:/{info.name}/{info.version}")


@registry_app.command("promote")
def promote_command(
    name: str = typer.Argument(..., help="Registered model name."),
    version: str = typer.Argument(..., help="Version number to promote."),
    alias: str = typer.Option(..., "--alias", help="champion or challenger."),
    require_gate: bool = typer.Option(
        False, "--require-gate", help="Promote only if `assay gate` finds no regression against the champion."
    ),
    gate_args: str = typer.Option("", "--gate-args", help="Extra options for `assay gate` (quoted)."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
) -> None:
    """Point an alias at a version (models:/NAME@ALIAS then names it)."""
    from assay.tracking.model_registry import get_version, promote
    from assay.tracking.store import get_client, resolve_tracking_uri

    _require_store(tracking_uri)
    if require_gate:
        client, uri = get_client(tracking_uri)
        candidate = get_version(client, name, version)
        aliases = client.get_registered_model(name).aliases or {}
        if "champion" not in aliases:
            console_err.print(f"{name} has no champion yet: nothing to gate against, promoting")
        elif str(aliases["champion"]) != str(version):
            bench = [k[len("bench.") :] for k in candidate.tags if k.startswith("bench.")]
            tasks = sorted({k.split("/")[0] for k in bench})
            _run_gate(name, version, tasks, shlex.split(gate_args), resolve_tracking_uri(uri))
    info = promote(name, version, alias, tracking_uri=tracking_uri)
    console.print(f"{info.name} version {info.version} is now @{alias}: models:/{info.name}@{alias}")


def _run_gate(name: str, version: str, tasks: list[str], extra: list[str], uri: str) -> None:
    """`assay gate` with the candidate version against the champion; exit 1 here when it fails."""
    from assay.cli.main import app

    if "gate" not in {c.name for c in app.registered_commands}:
        raise TrackingError("--require-gate needs the `assay gate` command, which this install lacks")
    if not tasks and "--tasks" not in extra:
        raise TrackingError(
            f"version {version} of {name} has no benchmark results to gate on",
            hint="register it with --run RUN, or pass --gate-args '--tasks ...'",
        )
    command = [sys.executable, "-m", "assay.cli.main", "gate", "--candidate", f"models:/{name}/{version}",
               "--baseline", f"models:/{name}@champion"]  # fmt: skip
    if "--tasks" not in extra:
        command += ["--tasks", ",".join(tasks)]
    console_err.print("gate: " + shlex.join(command + extra))
    done = subprocess.run(command + extra, env={**os.environ, "MLFLOW_TRACKING_URI": uri})
    if done.returncode == 1:
        console_err.print(styled(("not promoted:", "bold red"), f" the gate found a regression of {name} v{version}"))
        sys.exit(1)  # not typer.Exit: the CLI runs click in non-standalone mode, which drops its code
    if done.returncode != 0:
        code = done.returncode
        raise TrackingError(f"the gate could not run (exit {code}); {name} v{version} not promoted")


@registry_app.command("list")
def list_command(tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP)) -> None:
    """Every registered model with its number of versions and aliases."""
    from assay.tracking.model_registry import list_models

    _require_store(tracking_uri)
    table = Table(title="registered models")
    for col in ("name", "versions", "aliases"):
        table.add_column(col)
    for name, count, aliases in list_models(tracking_uri):
        table.add_row(name, str(count), ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items())))
    console.print(table)


@registry_app.command("show")
def show_command(
    name: str = typer.Argument(..., help="Registered model name."),
    tracking_uri: str | None = typer.Option(None, "--tracking-uri", help=URI_HELP),
) -> None:
    """Each version of a model: aliases, fingerprint, the evaluating run and its benchmark results."""
    from assay.tracking.model_registry import list_versions

    _require_store(tracking_uri)
    table = Table(title=name)
    for col in ("version", "aliases", "fingerprint", "model", "run", "benchmarks", "created"):
        table.add_column(col)
    for v in list_versions(name, tracking_uri):
        bench = "\n".join(f"{k}={val}" for k, val in v.benchmarks.items() if not k.endswith("_stderr"))
        table.add_row(
            v.version, ", ".join("@" + a for a in v.aliases), v.tags.get("assay.fingerprint", "")[:23],
            v.tags.get("assay.model", ""), v.tags.get("assay.run_id", ""), bench, v.created,
        )  # fmt: skip
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add the `registry` command group."""
    app.add_typer(registry_app, name="registry")
