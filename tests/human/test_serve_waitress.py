"""`assay human serve` as users start it, under waitress, off loopback (--host 127.0.0.2: a loopback-range
address that is not one of the loopback names, so invitations are required), and `assay human invite`.
"""

from __future__ import annotations

import http.cookiejar
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import pairwise_rows, write_jsonl
from .test_cli import assay, error_line

HOST = "127.0.0.2"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    items, db, log = write_jsonl(tmp_path / "pairs.jsonl", pairwise_rows(3)), tmp_path / "r.sqlite", tmp_path / "log"
    cmd = [sys.executable, "-m", "assay.cli.main", "human", "serve", str(items), "--db", str(db)]
    cmd += ["--mode", "pairwise", "--host", HOST, "--port", "0", "--threads", "4"]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (match := re.search(r"http://127\.0\.0\.2:\d+/", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert "sign-in by invitation only; 0 annotators invited" in log.read_text()
        yield match.group(0), db
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def browser() -> urllib.request.OpenerDirector:
    """A client with its own cookie jar that follows redirects, as a browser does."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def fetch(client: urllib.request.OpenerDirector, url: str, form: dict[str, str] | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    try:
        with client.open(url, data=data, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def field(name: str, html: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} on the page"
    return match.group(1)


def test_off_loopback_needs_an_invitation_under_waitress(server: tuple[str, Path]) -> None:
    url, db = server
    with urllib.request.urlopen(url + "healthz", timeout=30) as response:
        assert response.headers["Server"] == "waitress" and response.read() == b"ok"
    stranger = browser()
    status, page = fetch(stranger, url)
    assert status == 200 and 'name="name"' not in page
    status, _ = fetch(stranger, url + "login", {"name": "alice", "csrf_token": field("csrf_token", page)})
    assert status == 403

    invited = assay("invite", "alice", "bob", "--db", db, "--url", url)
    assert invited.returncode == 0, invited.stderr
    links = dict(line.split("\t") for line in invited.stdout.splitlines())
    assert sorted(links) == ["alice", "bob"] and links["alice"].startswith(url + "invite/")

    alice = browser()
    status, page = fetch(alice, links["alice"])
    assert status == 200 and 'id="invited">alice<' in page
    sign_in = {"invite": field("invite", page), "csrf_token": field("csrf_token", page)}
    status, page = fetch(alice, url + "login", sign_in)
    assert status == 200 and "Item 1 of 3" in page
    item = field("item_id", page)
    form = {"item_id": item, "choice": "tie", "annotator": "bob", "csrf_token": field("csrf_token", page)}
    status, page = fetch(alice, url + "rate", form)
    assert status == 200 and "Item 2 of 3" in page
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT annotator, item_id, choice FROM ratings").fetchall() == [("alice", item, "tie")]


def test_invite_errors_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "none.sqlite"
    assert error_line(assay("invite", "alice", "--db", missing)) == f"error: ratings database {missing} does not exist"
    assert error_line(assay("invite", "   ", "--db", missing)) == "error: please enter your name"
    assert not missing.exists()
