"""Entry point: builds the typer app from every command module in this package.

A command module is any module in assay.cli (other than this one and `common`) that defines
`register(app: typer.Typer) -> None`. Adding a command means adding a file; nothing here changes.
"""

from __future__ import annotations

import importlib
import os
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


def _requested_module(argv: list[str]) -> str | None:
    """The command module `assay CMD ...` needs (module name = command name, '-' as '_'), when started as the
    `assay` program: importing only that one keeps start-up short. None: load every command."""
    started_as_cli = __name__ == "__main__" or os.path.basename(argv[0]) == "assay"
    if not started_as_cli or len(argv) < 2 or argv[1].startswith("-"):
        return None
    return argv[1].replace("-", "_")


def _load_commands(only: str | None = None) -> None:
    import assay.cli as pkg

    names = sorted(
        info.name
        for info in pkgutil.iter_modules(pkg.__path__)
        if info.name not in {"main", "common"} and not info.name.startswith("_")
    )
    for name in [only] if only in names else names:
        module = importlib.import_module(f"assay.cli.{name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_load_commands(_requested_module(sys.argv))


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
        usage, other = _click_exceptions()
        if isinstance(exc, usage):
            console_err.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)  # type: ignore[attr-defined]
            sys.exit(2)
        if isinstance(exc, other):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        raise


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(usage errors, other click errors): click's own and, in newer typer releases, typer's vendored copy."""
    import importlib

    usage: list[type[Exception]] = []
    other: list[type[Exception]] = []
    for name in ("click.exceptions", "typer._click.exceptions"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        usage.append(module.UsageError)
        other.append(module.ClickException)
    return tuple(usage), tuple(other)


if __name__ == "__main__":
    main()
