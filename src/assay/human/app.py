"""The annotation web app (Flask): log in by name, rate blind items one by one, resume any time.

Routes::

    GET  /          login form (or straight to /rate when logged in)
    POST /login     start a session as an annotator (no password: this is a local tool)
    POST /logout    end the session
    GET  /rate      the annotator's next unrated item, or the "all done" page
    POST /rate      store one rating (committed at once), then redirect to GET /rate
    GET  /healthz   "ok": lets scripts wait for the server

Every POST carries a per-session CSRF token. Item text is shown only through Jinja autoescaping, and a
strict Content-Security-Policy forbids inline scripts, so a response containing HTML cannot run.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from assay.errors import UsageError
from assay.human.blinding import is_swapped
from assay.human.storage import Store

MAX_NAME = 64
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # a Back button must not show a stale item as if it were current
}


def clean_name(raw: str) -> str:
    """Normalize an annotator name (inner whitespace collapsed); raise UsageError if it is unusable."""
    name = " ".join(raw.split())
    if not name:
        raise UsageError("please enter your name")
    if len(name) > MAX_NAME:
        raise UsageError(f"a name has at most {MAX_NAME} characters")
    if not name.isprintable():
        raise UsageError("a name cannot contain control characters")
    return name


def create_app(store: Store) -> Flask:
    """Build the Flask app serving `store`."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=store.secret_key,
        SESSION_COOKIE_NAME="assay_human",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["assay_human_store"] = store
    app.context_processor(_inject)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.register_error_handler(400, _bad_request)
    app.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    app.add_url_rule("/", view_func=index, methods=["GET"])
    app.add_url_rule("/login", view_func=login, methods=["POST"])
    app.add_url_rule("/logout", view_func=logout, methods=["POST"])
    app.add_url_rule("/rate", view_func=rate, methods=["GET"])
    app.add_url_rule("/rate", endpoint="submit", view_func=submit, methods=["POST"])
    return app


def _store() -> Store:
    store: Store = current_app.extensions["assay_human_store"]
    return store


# ------------------------------------------------------------------------------------------- request hooks


def _inject() -> dict[str, object]:
    return {"csrf_token": _csrf_token(), "mode": _store().mode, "annotator": session.get("annotator")}


def _check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, "This form has expired. Please reload the page and try again.")


def _headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    if request.endpoint == "static":
        response.headers["Cache-Control"] = "max-age=300"
    return response


def _bad_request(error: Exception) -> tuple[str, int]:
    message = getattr(error, "description", "Bad request")
    return render_template("error.html", message=message), 400


# ------------------------------------------------------------------------------------------------- views


def healthz() -> str:
    """Liveness probe for scripts and tests."""
    return "ok"


def index() -> str | Response:
    """The login form, or the current item for a logged-in annotator."""
    if session.get("annotator"):
        return redirect(url_for("rate"))
    return render_template("login.html", n_items=len(_store().items))


def login() -> str | Response | tuple[str, int]:
    """Start a session under the given name (no password: a local tool)."""
    store = _store()
    try:
        name = clean_name(request.form.get("name", ""))
    except UsageError as exc:
        return render_template("login.html", n_items=len(store.items), error=exc.message), 400
    store.add_annotator(name)
    session.clear()
    session["annotator"] = name
    session["csrf"] = secrets.token_urlsafe(32)  # a fresh token per login
    return redirect(url_for("rate"))


def logout() -> Response:
    """End the session."""
    session.clear()
    return redirect(url_for("index"))


def rate() -> str | Response:
    """The annotator's next unrated item (pairwise: sides as this annotator sees them), or "all done"."""
    annotator = session.get("annotator")
    if not annotator:
        return redirect(url_for("index"))
    store = _store()
    item, n_done = store.next_item(annotator)
    total = len(store.items)
    if item is None:
        return render_template("done.html", total=total)
    context = {"item": item, "position": n_done + 1, "total": total}
    if store.mode == "single":
        return render_template("rate_single.html", **context)
    swapped = is_swapped(annotator, item.item_id)
    left, right = (item.response_b, item.response_a) if swapped else (item.response_a, item.response_b)
    return render_template("rate_pairwise.html", left=left, right=right, **context)


def submit() -> Response:
    """Store one rating (committed before the redirect), then show the next item."""
    annotator = session.get("annotator")
    if not annotator:
        return redirect(url_for("index"))
    store, form = _store(), request.form
    try:
        score = _parse_score(form.get("score")) if store.mode == "single" else None
        choice = form.get("choice") if store.mode == "pairwise" else None
        comment = form.get("comment", "")
        store.save_rating(annotator, form.get("item_id", ""), score=score, choice=choice, comment=comment)
    except UsageError as exc:
        abort(400, exc.message[:1].upper() + exc.message[1:] + ".")
    return redirect(url_for("rate"))


def _csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _parse_score(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise UsageError("a single-mode rating needs a score from 1 to 10") from None
