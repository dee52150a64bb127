"""`assay view`: a WSGI app (werkzeug) that serves the explorer page and reads samples lazily.

    GET /                       the page (static/index.html)
    GET /static/<file>          its script and style
    GET /api/manifest           runs and their units (model x task)
    GET /api/index?unit=K       ids and per-metric values of every row of a unit (what the page filters on)
    GET /api/rows?unit=K&rows=0,1,2     those rows, read by byte offset, with the marks the page shows
    GET /api/search?unit=K&q=words      row numbers whose texts hold every word
    GET /api/compare?a=K&b=K&metric=M   `assay compare`'s figures for the two units' task and metric

Indexes are built once per samples file (and cached on disk, see index.py), then kept in memory.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any

from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from assay.errors import AssayError
from assay.view.compare import command_line, compare_units
from assay.view.index import SamplesIndex, load_index
from assay.view.rows import for_page
from assay.view.runs import Unit, ViewRun

MAX_ROWS = 200  # rows per /api/rows request
STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html"}


def manifest(runs: list[ViewRun], mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "runs": [
            {
                "id": r.run_id,
                "path": str(r.path),
                "unfinished": r.unfinished,
                "created": r.record.created if r.record else "",
            }
            for r in runs
        ],  # fmt: skip
        "units": [
            {"key": u.key, "run": u.run_id, "model": u.model, "task": u.task, "side": u.side}
            for r in runs
            for u in r.units
        ],
    }


def static_text(name: str) -> str:
    return resources.files("assay.view").joinpath("static", name).read_text(encoding="utf-8")


def page_html(config: str, static: str, back: str) -> str:
    """The page with its configuration, where its script and style are, and a link back (the report's)."""
    html = static_text("index.html")
    return html.replace("{{config}}", config).replace("{{static}}", static).replace("{{back}}", back)


class ViewApp:
    def __init__(self, runs: list[ViewRun]) -> None:
        self.runs = {r.run_id: r for r in runs}
        self.units: dict[str, Unit] = {u.key: u for r in runs for u in r.units}
        self.manifest = json.dumps(manifest(runs, "server")).encode("utf-8")
        self._indexes: dict[str, SamplesIndex] = {}
        self._index_json: dict[str, bytes] = {}
        self._locks: dict[str, threading.Lock] = {k: threading.Lock() for k in self.units}
        self.url_map = Map([
            Rule("/", endpoint="page"),
            Rule("/static/<name>", endpoint="static"),
            Rule("/api/manifest", endpoint="manifest"),
            Rule("/api/index", endpoint="index"),
            Rule("/api/rows", endpoint="rows"),
            Rule("/api/search", endpoint="search"),
            Rule("/api/compare", endpoint="compare"),
        ])  # fmt: skip

    def index(self, key: str) -> SamplesIndex:
        unit = self.units.get(key)
        if unit is None:
            raise NotFound(f"no unit {key}")
        with self._locks[key]:
            if key not in self._indexes:
                index = load_index(unit.path)
                self._index_json[key] = json.dumps(index.client_json()).encode("utf-8")
                self._indexes[key] = index
        return self._indexes[key]

    def warm(self) -> threading.Thread:
        """Build (or load) every unit's index in the background, so the first page finds them ready."""

        def build() -> None:
            for key in self.units:
                try:
                    self.index(key)
                except Exception:  # noqa: BLE001 - the request for that unit reports the same error
                    continue

        thread = threading.Thread(target=build, name="assay-view-index", daemon=True)
        thread.start()
        return thread

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            endpoint, args = self.url_map.bind_to_environ(environ).match()
            response = getattr(self, f"on_{endpoint}")(request, **args)
        except HTTPException as exc:
            response = _json({"error": exc.description}, exc.code or 500)
        except AssayError as exc:
            response = _json({"error": str(exc)}, 400)
        return response(environ, start_response)  # type: ignore[no-any-return]

    def on_page(self, request: Request) -> Response:
        html = page_html('{"mode": "server"}', "static/", "")
        return Response(html, mimetype="text/html")

    def on_static(self, request: Request, name: str) -> Response:
        suffix = "." + name.rsplit(".", 1)[-1]
        if "/" in name or suffix not in STATIC_TYPES:
            raise NotFound()
        try:
            text = static_text(name)
        except FileNotFoundError:
            raise NotFound() from None
        return Response(text, mimetype=STATIC_TYPES[suffix], headers={"Cache-Control": "max-age=3600"})

    def on_manifest(self, request: Request) -> Response:
        return Response(self.manifest, mimetype="application/json")

    def on_index(self, request: Request) -> Response:
        key = _arg(request, "unit")
        self.index(key)
        return Response(self._index_json[key], mimetype="application/json")

    def on_rows(self, request: Request) -> Response:
        index = self.index(_arg(request, "unit"))
        try:
            numbers = [int(x) for x in _arg(request, "rows").split(",") if x][:MAX_ROWS]
            rows = index.read_rows(numbers)
        except (ValueError, IndexError):
            raise BadRequest("rows: row numbers of the unit, comma-separated") from None
        return _json([for_page(row, i) for i, row in zip(numbers, rows, strict=True)])

    def on_search(self, request: Request) -> Response:
        index = self.index(_arg(request, "unit"))
        return _json({"rows": index.search(request.args.get("q", ""))})

    def on_compare(self, request: Request) -> Response:
        a, b = (self.units.get(_arg(request, name)) for name in ("a", "b"))
        if a is None or b is None:
            raise NotFound("no such unit")
        metric = _arg(request, "metric")
        result = compare_units(a, b, metric, self.runs)
        return _json({**result, "command": command_line(a, b, metric, self.runs)})


def _arg(request: Request, name: str) -> str:
    value = request.args.get(name)
    if not value:
        raise BadRequest(f"missing parameter {name}")
    return value


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def serve(app: ViewApp, sock: socket.socket, announce: Callable[[str], None], threads: int = 8) -> None:
    """Serve on an already bound socket with waitress (as `assay human serve` does) until Ctrl-C."""
    from waitress import create_server

    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = create_server(app, sockets=[sock], threads=threads, connection_limit=1000, ident="assay")
    host, port = sock.getsockname()[:2]
    announce(f"http://{host}:{port}/")
    try:
        server.run()
    finally:
        server.close()
