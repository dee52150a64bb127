"""Entry point: builds the typer app from every command module in this package.

A command module is any module in assay.cli (other than this one and `common`) that defines
`register(app: typer.Typer) -> None`. Adding a command means adding a file; nothing here changes.
"""

from __future__ import annotations

import errno
import importlib
import os
import pkgutil
import signal
import sys
import threading

import typer

from assay import __version__
from assay.cli._boundary import Failure, explain, report, show_traceback

app = typer.Typer(
    name="assay",
    help="Evaluate language models: benchmarks, code execution, judges, tracking, leaderboards, CI gates.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


_DEBUG = {"on": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of any error (also ASSAY_DEBUG=1)."),
) -> None:
    """assay: evaluate language models."""
    _DEBUG["on"] = _DEBUG["on"] or debug


def _requested_module(argv: list[str]) -> str | None:
    """The command module `assay CMD ...` needs (module name = command name, '-' as '_'), when started as the
    `assay` program: importing only that one keeps start-up short. None: load every command."""
    started_as_cli = __name__ == "__main__" or os.path.basename(argv[0]) == "assay"
    words = [a for a in argv[1:] if a != "--debug"][:1]
    if not started_as_cli or not words or words[0].startswith("-"):
        return None
    return words[0].replace("-", "_")


def _load_commands(only: str | None = None) -> None:
    import assay.cli as pkg

    names = sorted(
        info.name
        for info in pkgutil.iter_modules(pkg.__path__)
        if info.name not in {"main", "common"} and not info.name.startswith("_")
    )
    for name in [only] if only in names else names:
        try:
            module = importlib.import_module(f"assay.cli.{name}")
        except Exception as exc:  # reported by main() inside the boundary, not as an import-time traceback
            _LOAD_ERRORS.append(exc)
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_LOAD_ERRORS: list[Exception] = []
_load_commands(_requested_module(sys.argv))


def _debug_on() -> bool:
    """--debug (seen by the root callback before the command ran) or ASSAY_DEBUG=1."""
    return _DEBUG["on"] or os.environ.get("ASSAY_DEBUG", "").strip().lower() not in {"", "0", "false", "no"}


def main(argv: list[str] | None = None) -> None:
    """Run the CLI inside the one boundary: any exception ends in `error:` (+ `hint:`) and an exit code."""
    args, _DEBUG["on"] = _take_debug(list(sys.argv[1:] if argv is None else argv))
    previous = os.environ.get("ASSAY_DEBUG")
    if _DEBUG["on"]:  # what the command's own modules read (tracking shows MLflow's log lines then)
        os.environ["ASSAY_DEBUG"] = "1"
    try:
        _run(args)
    finally:  # in-process callers (tests) get their environment back
        if previous is None:
            os.environ.pop("ASSAY_DEBUG", None)
        else:
            os.environ["ASSAY_DEBUG"] = previous


def _run(args: list[str]) -> None:
    try:
        # `kill`, a scheduler or a container stop ends any command as Ctrl-C does: cleanly and with one line
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _terminated)
        if _LOAD_ERRORS:
            raise _LOAD_ERRORS[0]
        code = app(args=args, prog_name="assay", standalone_mode=False)  # typer.Exit(n) comes back as n
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - this is the boundary: nothing passes it untranslated
        sys.exit(_fail(exc, _debug_on()))
    if code == 130:  # typer turns Ctrl-C into Exit(130) before it reaches us
        report(explain(KeyboardInterrupt()))
    if isinstance(code, int) and code:
        sys.exit(code)


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _take_debug(args: list[str]) -> tuple[list[str], bool]:
    """`--debug` anywhere before a `--` (the hint says "rerun with --debug": users append it at the end)."""
    end = args.index("--") if "--" in args else len(args)
    if "--debug" not in args[:end]:
        return args, False
    return [a for a in args[:end] if a != "--debug"] + args[end:], True


def _fail(exc: BaseException, debug: bool) -> int:
    """Print what went wrong and return the exit code."""
    usage, other = _click_exceptions()
    if isinstance(exc, usage):
        failure = Failure(exc.format_message(), None, 2)  # type: ignore[attr-defined]
    elif isinstance(exc, other):
        failure = Failure(exc.format_message(), None, exc.exit_code)  # type: ignore[attr-defined]
    elif isinstance(exc, _abort_exceptions()):
        failure = explain(KeyboardInterrupt())
    elif isinstance(exc, OSError) and exc.errno == errno.EPIPE:
        return _quiet_broken_pipe()
    else:
        failure = explain(exc)
    if debug:
        show_traceback(exc)
    report(failure)
    return failure.exit_code


def _quiet_broken_pipe() -> int:
    """`assay ... | head` closed our stdout: stop without a message (as other Unix tools do)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return 141


def _click_exceptions() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """(usage errors, other click errors): click's own and, in newer typer releases, typer's vendored copy."""
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


def _abort_exceptions() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = []
    for name in ("click.exceptions", "typer._click.exceptions", "typer.exceptions"):
        try:
            found.append(importlib.import_module(name).Abort)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


if __name__ == "__main__":
    main()
