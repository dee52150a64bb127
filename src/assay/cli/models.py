"""`assay models`: list backends and aliases; `assay models path ALIAS` prints (and makes) its HF folder."""

from __future__ import annotations

import typer
from rich.table import Table

from assay.cli.common import console
from assay.errors import UnknownModelError, did_you_mean
from assay.models.aliases import ALIASES, hf_folder
from assay.models.backends import BACKENDS, TESTING_BACKENDS


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(
        help="Model backends and aliases.", invoke_without_command=True, no_args_is_help=False
    )

    @models_app.callback()
    def list_models(ctx: typer.Context) -> None:
        """List backends and aliases."""
        if ctx.invoked_subcommand:
            return
        table = Table(title="models")
        for col in ("name", "kind", "description"):
            table.add_column(col)
        for name in sorted(BACKENDS):
            if name in TESTING_BACKENDS:
                table.add_row(name, "backend (testing only)", TESTING_BACKENDS[name])
            else:
                table.add_row(name, "backend", BACKENDS[name].split(":")[0])
        for name, alias in sorted(ALIASES.items()):
            table.add_row(name, f"alias ({alias.backend})", f"{alias.description}; {alias.pip}")
        console.print(table)

    @models_app.command("path")
    def path(alias: str = typer.Argument(..., help="A model alias, e.g. smollm2-135m.")) -> None:
        """Print the local HF folder an alias resolves to, converting the GGUF on first use."""
        if alias not in ALIASES:
            raise UnknownModelError(
                f"unknown alias {alias!r}",
                hint=did_you_mean(alias, ALIASES) or f"known: {', '.join(ALIASES)}",
            )
        typer.echo(str(hf_folder(alias)))

    app.add_typer(models_app, name="models")
