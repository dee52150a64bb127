"""Serve the annotation app with werkzeug's threaded WSGI server: enough for a handful of local annotators."""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, make_server

from assay.errors import UsageError
from assay.human.app import create_app
from assay.human.storage import Store


def make_http_server(store: Store, host: str, port: int) -> BaseWSGIServer:
    """Bind the app to host:port; a port in use or a bad host is a UsageError with a hint."""
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is out of range", hint="use a port from 1024 to 65535")
    # bind here rather than in werkzeug, which prints its own message and calls sys.exit(1) on failure
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # a restart right after a crash must get the same port back despite connections in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        return make_server(host, port, create_app(store), threaded=True, fd=sock.fileno())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use", hint="pick another --port") from None
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})", hint="check --host (e.g. 127.0.0.1)"
        ) from None
    finally:
        sock.close()  # werkzeug works on its own duplicate of the descriptor


def serve(store: Store, host: str, port: int, announce: Callable[[str], None] = print) -> None:
    """Serve until interrupted; `announce` receives the URL once the socket is bound."""
    server = make_http_server(store, host, port)
    shown_host = f"[{host}]" if ":" in host else host
    announce(f"http://{shown_host}:{server.port}/")
    try:
        server.serve_forever()
    finally:
        server.server_close()
