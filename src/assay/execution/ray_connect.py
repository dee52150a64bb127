"""Joining a Ray cluster, or starting a private one, bounded in time and reported in one line.

Three ways in, each ending within a bound (seconds) in a joined cluster or one `error:` line:
- `--ray-address HOST:PORT`: the port must answer (`_probe`), the cluster must accept assay's token
  (`_check_token`, a GCS handshake), then `ray.init` joins it (in a thread, bounded by CONNECT_TIMEOUT).
- `--ray-address auto`: the cluster Ray has on record for this machine (RAY_ADDRESS, or the record
  `ray start` leaves in Ray's temp folder), checked the same way, so a dead head is an error, not a hang.
- no address: a new private cluster on this machine (`ray.init(address="local")`), whatever RAY_ADDRESS or a
  stale record of an earlier cluster say (Ray would otherwise try to join that one, forever if its head died),
  bounded by START_TIMEOUT.

Token authentication (on by default in clusters that `ray start` starts once a token exists, Ray 2.60): when
the cluster refuses a driver without a token, assay reads the token as Ray's own clients do (RAY_AUTH_TOKEN,
else the file RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token), turns on RAY_AUTH_MODE=token and asks again.
RAY_AUTH_MODE set by the user is respected. Ray's C++ client logs to the process's
stderr before it is connected (a refusal is repeated every second); that text is captured, not shown.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assay.errors import UsageError, require

CONNECT_TIMEOUT = 10.0  # seconds: an unreachable or silent cluster is an error, not a hang
START_TIMEOUT = 120.0  # seconds to start a private cluster (a few seconds on an idle machine)
TOKEN_HINT = (
    "give assay the cluster's token (`ray get-auth-token` on the head prints it): put it in ~/.ray/auth_token, "
    "or set RAY_AUTH_TOKEN_PATH=FILE or RAY_AUTH_TOKEN=TOKEN"
)
JOIN_HINT = "start one with `ray start --head --node-ip-address 127.0.0.1` and pass its HOST:PORT"


def connect(address: str | None) -> None:
    """Join the cluster at `address` ('auto': the one on record for this machine; None or 'local': start one)."""
    require("ray", "ray")
    private = not address or address == "local"
    if private or address == "auto" or str(address).startswith(("127.", "localhost")):
        # Ray rewrites a loopback address into the machine's own interface address before joining; this
        # (Ray's own) switch keeps a cluster started on loopback reachable. Read when ray is first imported.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    import ray

    if ray.is_initialized():
        return
    if private:
        _start_private()
        return
    target = _recorded_address() if address == "auto" else str(address)
    _probe(target)
    _check_token(target)
    _join(target)


def token_source() -> str | None:
    """Where Ray's clients would read a token from, in their order; None when there is none."""
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return "RAY_AUTH_TOKEN"
    path = os.environ.get("RAY_AUTH_TOKEN_PATH", "").strip()
    if path:
        return f"RAY_AUTH_TOKEN_PATH={path}" if Path(path).expanduser().is_file() else None
    default = Path.home() / ".ray" / "auth_token"
    return "~/.ray/auth_token" if default.is_file() else None


def _enable_token() -> None:
    """Token authentication on for this process (and the Ray processes it starts), as Ray's own clients do."""
    from ray._raylet import AuthenticationTokenLoader, Config  # type: ignore[attr-defined]

    os.environ["RAY_AUTH_MODE"] = "token"
    Config.initialize("")  # Ray caches its config: refresh it so this process sends the token
    AuthenticationTokenLoader.instance().reset_cache()


def _recorded_address() -> str:
    from ray._private.services import canonicalize_bootstrap_address

    try:
        found = canonicalize_bootstrap_address("auto")
    except (ConnectionError, ValueError) as exc:
        raise UsageError(f"--ray-address auto: {str(exc).splitlines()[0]}", hint=JOIN_HINT) from None
    if not found:
        raise UsageError("--ray-address auto: no Ray cluster is recorded on this machine", hint=JOIN_HINT)
    return str(found)


def _probe(address: str) -> None:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_TIMEOUT / 2):
            pass
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot reach the Ray cluster at {address}: {exc}", hint=JOIN_HINT) from exc


def _check_token(address: str) -> None:
    """A GCS handshake: a cluster that refuses the token (or its absence) says so at once; ray.init would retry.

    A cluster that refuses a driver without a token is asked again with the token Ray's clients would read,
    unless RAY_AUTH_MODE says otherwise; a cluster without authentication is joined as it was before.
    """
    from ray.exceptions import AuthenticationError

    failure = _handshake(address)
    source = token_source()
    explicit = os.environ.get("RAY_AUTH_MODE")
    if isinstance(failure, AuthenticationError) and explicit is None and source is not None:
        _enable_token()
        failure = _handshake(address)
    elif explicit is None or explicit.strip().lower() != "token":
        source = None  # no token was sent
    if isinstance(failure, AuthenticationError):
        if source is None:
            why = "it requires token authentication and assay found no token"
        else:
            why = f"the token read from {source} is not the cluster's"
        raise UsageError(f"the Ray cluster at {address} refused assay's token: {why}", hint=TOKEN_HINT)
    if failure is not None:
        raise UsageError(f"cannot join the Ray cluster at {address}: {_first_line(failure)}", hint=JOIN_HINT)


def _handshake(address: str) -> BaseException | None:
    from ray._raylet import GcsClient  # type: ignore[attr-defined]

    with _captured_stderr():
        return _bounded(lambda: GcsClient(address=address), CONNECT_TIMEOUT)


def _join(address: str) -> None:
    import ray

    def join() -> None:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)

    with _captured_stderr():
        failure = _bounded(join, CONNECT_TIMEOUT)
    if failure is not None:
        raise UsageError(f"cannot join the Ray cluster at {address}: {_first_line(failure)}", hint=JOIN_HINT)


def _start_private() -> None:
    """A new cluster on this machine. Ray must start it in the main thread: bounded by an alarm there."""
    import ray

    os.environ.pop("RAY_ADDRESS", None)  # "local" ignores it; the cluster's own processes must too
    kwargs: dict[str, Any] = {"address": "local", "include_dashboard": False, "log_to_driver": False,
                              "logging_level": logging.ERROR}  # fmt: skip
    try:
        with _captured_stderr(), _alarm(START_TIMEOUT):
            ray.init(**kwargs)
    except TimeoutError:
        with contextlib.suppress(Exception):
            ray.shutdown()
        raise UsageError(f"could not start a local Ray cluster within {START_TIMEOUT:.0f} s",
                         hint="see Ray's logs (session_latest/logs in Ray's temp folder)") from None  # fmt: skip
    except Exception as exc:  # Ray's own failure, reported as one line
        raise UsageError(f"could not start a local Ray cluster: {_first_line(exc)}") from None


def _bounded(call: Callable[[], None], seconds: float) -> BaseException | None:
    """Run `call` in a daemon thread; its exception, a TimeoutError if it did not end in time, or None."""
    failure: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which reports it in one line
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        return TimeoutError(f"no answer within {seconds:.0f} s")
    return failure[0] if failure else None


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the main thread after `seconds` (no bound elsewhere: signals reach the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def _captured_stderr() -> Iterator[None]:
    """Send what C++ code writes to file descriptor 2 into a temporary file while Ray connects."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to keep clean
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
