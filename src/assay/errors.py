"""One error hierarchy for everything assay tells a user.

    AssayError                  any problem assay reports as one line, exit code 2
    ├── Interrupted             Ctrl-C / SIGTERM stopped a command (exit code 130; names the run and --resume)
    ├── UsageError              bad command-line input (unknown option value, missing run, ...)
    │   ├── UnknownTaskError    a task name that matches nothing ("did you mean ...?")
    │   └── UnknownModelError   a backend or alias that does not exist
    ├── ConfigError             a config/task YAML that does not validate
    ├── DataError               a data file that is missing or has a malformed row (file and line named)
    ├── DependencyError         an optional dependency is missing (the message names the install command)
    ├── ModelError              a backend failed (server unreachable after retries, load failure, ...)
    ├── SandboxError            the code sandbox could not be set up
    └── TrackingError           MLflow / W&B / registry problems

The CLI (assay.cli.main) runs every command inside one boundary: an AssayError prints `error: <message>` (plus
`hint: ...` when there is one) and exits with its exit_code (2). Exceptions from the environment the user controls
(OSError such as a full disk or a missing file, bytes that are not UTF-8, Ctrl-C) are translated there into the same
one-line form; anything else is a bug in assay: exit 1 and a hint to rerun with --debug for the traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class AssayError(Exception):
    """Base class: a problem with a one-line explanation for the user."""

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class Interrupted(AssayError):
    """The user stopped a command (SIGINT/SIGTERM); the message says what was kept and how to resume."""

    exit_code = 130

    def __init__(self, message: str, hint: str | None = None, *, kept: str | None = None) -> None:
        super().__init__(message, hint)
        self.kept = kept  # the unfinished run folder the command kept (a caller may name its own resume)


class UsageError(AssayError):
    """The user asked for something that does not make sense."""


class UnknownTaskError(UsageError):
    """A task name, group or pattern matched no task."""


class UnknownModelError(UsageError):
    """A model backend or alias that does not exist."""


class ConfigError(AssayError):
    """A configuration or task file does not validate."""


class DataError(AssayError):
    """Benchmark data is missing or malformed."""


class DependencyError(AssayError):
    """An optional dependency is not installed."""


class ModelError(AssayError):
    """A model backend failed to load or answer."""


class SandboxError(AssayError):
    """The code-execution sandbox could not be set up or used."""


class TrackingError(AssayError):
    """Experiment tracking or the model registry failed."""


_KEPT = "assay kept: "  # prefix of an exception note saying what a failed command kept and how to go on


def note_kept(exc: BaseException, text: str) -> None:
    """Attach to any exception what the failing command kept and how to continue (`run X keeps ...; continue
    with: ...`): the CLI adds it to the hint of whatever the exception becomes, a bug in assay included."""
    exc.add_note(_KEPT + text)


def kept_notes(exc: BaseException) -> list[str]:
    """The texts `note_kept` attached to `exc`."""
    return [n.removeprefix(_KEPT) for n in getattr(exc, "__notes__", []) if str(n).startswith(_KEPT)]


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """Return a 'did you mean ...?' hint for the closest candidates, or None."""
    close = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


def require(module: str, extra: str) -> None:
    """Raise DependencyError naming the pip command when `module` cannot be imported."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise DependencyError(
            f"this feature needs the Python package '{module}'",
            hint=f"pip install 'assay[{extra}]'",
        )
