"""The annotation web app (Flask): sign in, rate blind items one by one, resume any time.

Routes::

    GET  /          sign-in form (or straight to /rate when signed in)
    GET  /invite/T  sign-in form for the annotator invited with token T (nothing changes until they submit it)
    POST /login     start a session: by invitation token, or by name when invitations are not required
    POST /logout    end the session
    GET  /rate      the annotator's next unrated item, or the "all done" page
    POST /rate      store one rating (committed at once), then redirect to GET /rate
    GET  /healthz   "ok": lets scripts wait for the server

With `require_invite` (any address but loopback), only an invitation token signs in; the session then holds
the annotator's name and the hash of that invitation, checked on every request, so a newer invitation revokes
the older link's sessions. An annotator's identity comes only from the signed session cookie, never from a
form, and the only pages are the annotator's own next item: nobody can see or change another's ratings.

Every response says how long the app took to make it (`Server-Timing: app;dur=<ms>`, shown by a browser's
developer tools; the load bench separates it from queueing). Every POST carries a per-session CSRF token. Item
text is shown only through Jinja autoescaping, and a strict Content-Security-Policy forbids inline scripts, so
a response containing HTML cannot run.
"""

from __future__ import annotations

import hmac
import secrets
import time

from flask import Flask, abort, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from assay.errors import UsageError
from assay.human.access import clean_name, token_hash
from assay.human.blinding import is_swapped
from assay.human.storage import Store

__all__ = ["clean_name", "create_app"]

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # a Back button must not show a stale item as if it were current
}


def create_app(store: Store, *, require_invite: bool = False) -> Flask:
    """Build the Flask app serving `store`; with `require_invite`, only invited annotators can sign in."""
    app = Flask(__name__)
    app.config.update(
        ASSAY_REQUIRE_INVITE=require_invite,
        SECRET_KEY=store.secret_key,
        SESSION_COOKIE_NAME="assay_human",
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["assay_human_store"] = store
    app.context_processor(_inject)
    app.before_request(_start_timer)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.register_error_handler(400, _bad_request)
    app.add_url_rule("/healthz", view_func=healthz, methods=["GET"])
    app.add_url_rule("/", view_func=index, methods=["GET"])
    app.add_url_rule("/invite/<token>", view_func=invitation, methods=["GET"])
    app.add_url_rule("/login", view_func=login, methods=["POST"])
    app.add_url_rule("/logout", view_func=logout, methods=["POST"])
    app.add_url_rule("/rate", view_func=rate, methods=["GET"])
    app.add_url_rule("/rate", endpoint="submit", view_func=submit, methods=["POST"])
    return app


def _store() -> Store:
    store: Store = current_app.extensions["assay_human_store"]
    return store


def _require_invite() -> bool:
    return bool(current_app.config["ASSAY_REQUIRE_INVITE"])


def _annotator() -> str | None:
    """The signed-in annotator, or None; with invitations, only while the session's invitation is current."""
    name = session.get("annotator")
    if not isinstance(name, str) or not name:
        return None
    if _require_invite() and not _store().invite_is_current(name, str(session.get("invite", ""))):
        session.clear()  # a name-only session (made on loopback) or a replaced invitation
        return None
    return name


# ------------------------------------------------------------------------------------------- request hooks


def _inject() -> dict[str, object]:
    return {
        "csrf_token": _csrf_token(),
        "mode": _store().mode,
        "annotator": session.get("annotator"),
        "require_invite": _require_invite(),
    }


def _start_timer() -> None:
    g.assay_started = time.perf_counter()


def _check_csrf() -> None:
    if request.method == "POST":
        sent = request.form.get("csrf_token", "")
        expected = session.get("csrf", "")
        if not expected or not hmac.compare_digest(sent, expected):
            abort(400, "This form has expired. Please reload the page and try again.")


def _headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    started = g.get("assay_started")
    if started is not None:
        response.headers["Server-Timing"] = f"app;dur={1000 * (time.perf_counter() - started):.2f}"
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
    """The sign-in form, or the current item for a signed-in annotator."""
    if _annotator():
        return redirect(url_for("rate"))
    return render_template("login.html", n_items=len(_store().items))


def invitation(token: str) -> str | tuple[str, int]:
    """The sign-in form for the annotator invited with `token` (a GET changes nothing: the form posts it)."""
    store = _store()
    name = store.invited(token)
    if name is None:
        message = "This invitation link is not valid: it may have been replaced by a newer one."
        return render_template("error.html", message=message), 404
    return render_template("login.html", n_items=len(store.items), invite=token, invited=name)


def login() -> str | Response | tuple[str, int]:
    """Start a session: by invitation token, or by name where invitations are not required."""
    store = _store()
    token = request.form.get("invite", "").strip()
    if token:
        name = store.invited(token)
        if name is None:
            return _login_error("This invitation is not valid: ask for a new link.", 403)
    elif _require_invite():
        return _login_error("Sign in with your personal invitation link.", 403)
    else:
        try:
            name = clean_name(request.form.get("name", ""))
        except UsageError as exc:
            return _login_error(exc.message, 400)
        store.add_annotator(name)
    session.clear()
    session["annotator"] = name
    if token:
        session["invite"] = token_hash(token)
    session["csrf"] = secrets.token_urlsafe(32)  # a fresh token per login
    return redirect(url_for("rate"))


def _login_error(message: str, status: int) -> tuple[str, int]:
    return render_template("login.html", n_items=len(_store().items), error=message), status


def logout() -> Response:
    """End the session."""
    session.clear()
    return redirect(url_for("index"))


def rate() -> str | Response:
    """The annotator's next unrated item (pairwise: sides as this annotator sees them), or "all done"."""
    annotator = _annotator()
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
    annotator = _annotator()
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
