"""Who may rate: annotator names, invitation tokens, and when an invitation is required.

On loopback (127.0.0.1, localhost, ::1) the app trusts the machine's user: an annotator signs in by name.
On any other address anyone who reaches the port could type a colleague's name, so sign-in needs a personal
invitation (`assay human invite NAME`): a random token shown once, of which the database keeps only the
SHA-256. A token has 256 random bits, so a plain hash is enough (no slow password hash: nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import secrets

from assay.errors import UsageError

MAX_NAME = 64
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


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


def needs_invite(host: str) -> bool:
    """True when serving on `host` must require invitations: any address but the loopback names above."""
    return host.strip("[]").lower() not in LOOPBACK_HOSTS


def new_token() -> str:
    """A fresh invitation token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database stores of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def invite_link(base_url: str, token: str) -> str:
    """The personal link an annotator opens: BASE/invite/TOKEN."""
    return f"{base_url.rstrip('/')}/invite/{token}"
