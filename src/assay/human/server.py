"""Serve the annotation app with werkzeug's threaded WSGI server: enough for a handful of local annotators."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from werkzeug.serving import make_server

from assay.errors import UsageError
from assay.human.app import create_app
from assay.human.storage import Store


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a port in use or a bad host is a UsageError with a hint.

    The CLI binds before it creates the database, so a busy port leaves no file behind. Binding here
    rather than in werkzeug also matters because werkzeug prints its own message and calls sys.exit(1).
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is out of range", hint="use a port from 1024 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # a restart right after a crash must get the same port back despite connections in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use", hint="pick another --port") from None
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})", hint="check --host (e.g. 127.0.0.1)"
        ) from None
    return sock


def serve(store: Store, sock: socket.socket, announce: Callable[[str], None] = print) -> None:
    """Serve `store` on the listening `sock` until interrupted; `announce` receives the URL first."""
    host, port = sock.getsockname()[:2]
    try:
        server = make_server(host, port, create_app(store), threaded=True, fd=sock.fileno())
    finally:
        sock.close()  # werkzeug works on its own duplicate of the descriptor
    shown_host = f"[{host}]" if ":" in host else host
    announce(f"http://{shown_host}:{server.port}/")
    try:
        server.serve_forever()
    finally:
        server.server_close()
