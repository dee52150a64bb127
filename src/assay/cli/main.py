"""Entry point: builds the typer app from every command module in this package.

A command module is any module in assay.cli (other than this one and `common`) that defines
`register(app: typer.Typer) -> None`. Adding a command means adding a file; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

from assay import __version__
from assay.cli.common import console_err
from assay.errors import AssayError

app = typer.Typer(
    name="assay",
    help="Evaluate language models: benchmarks, code execution, judges, tracking, leaderboards, CI gates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """assay: evaluate language models."""


def _load_commands() -> None:
    import assay.cli as pkg

    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
        if info.name in {"main", "common"} or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"assay.cli.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands()


def main() -> None:
    """Run the CLI; an AssayError becomes one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)  # typer.Exit(n) comes back as a return value here
        if isinstance(code, int) and code:
            sys.exit(code)
    except AssayError as exc:
        console_err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            console_err.print(f"[yellow]hint:[/] {exc.hint}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        console_err.print("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        console_err.print("interrupted: results finished so far are saved; continue with --resume")
        sys.exit(130)
    except Exception as exc:  # click usage errors arrive here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.UsageError):
            console_err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)
            sys.exit(2)
        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
