"""Serve the annotation app with waitress, a production WSGI server in pure Python.

waitress reads and writes sockets in one asynchronous loop and runs the app on a fixed pool of threads, so
a hundred open connections cost no thread each and a slow client never holds one; it runs the same on Linux,
macOS and Windows and needs nothing compiled. The app's work is short (a page render, one indexed read, one
share of a group commit), but a POST holds its thread while its commit waits for fsync (2-3 ms, GIL released):
with 8 threads about half of them waited on the disk at 100 annotators, and 16 served ~25% more ratings/s with
a lower p95 on the 2-core machine (bench/bench_human.py), so 16 is the default.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable

from waitress import create_server

from assay.errors import UsageError
from assay.human.app import create_app
from assay.human.storage import Store

DEFAULT_THREADS = 16
CONNECTION_LIMIT = 1000  # open connections (waitress's default, 100, is one team's worth of keep-alive clients)
BACKLOG = 1024


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port; a port in use or a bad host is a UsageError with a hint.

    The CLI binds before it creates the database, so a busy port leaves no file behind.
    """
    if not 0 <= port <= 65535:
        raise UsageError(f"port {port} is out of range", hint="use a port from 1024 to 65535")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # a restart right after a crash must get the same port back despite connections in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(f"port {port} on {host} is already in use", hint="pick another --port") from None
        raise UsageError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc})", hint="check --host (e.g. 127.0.0.1)"
        ) from None
    return sock


def serve(
    store: Store,
    sock: socket.socket,
    *,
    threads: int = DEFAULT_THREADS,
    require_invite: bool = False,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve `store` on the listening `sock` until interrupted (then return); `announce` receives the URL first."""
    # under a burst, waitress warns "Task queue depth is N" for every queued request: normal, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    app = create_app(store, require_invite=require_invite)
    server = create_server(
        app,
        sockets=[sock],
        threads=threads,
        connection_limit=CONNECTION_LIMIT,
        backlog=BACKLOG,
        clear_untrusted_proxy_headers=True,
    )
    host, port = sock.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    announce(f"http://{shown_host}:{port}/")
    try:
        server.run()  # returns after Ctrl-C / SIGTERM (waitress catches KeyboardInterrupt and stops its threads)
    finally:
        server.close()
        store.close()
