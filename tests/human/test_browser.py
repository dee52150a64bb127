"""End to end in real headless Chromium: two annotators rate through the real server, which is SIGKILLed
mid-session and restarted; the annotators resume where they stopped and the rows and the export are checked.

Needs the Debian `chromium` package at /usr/bin/chromium and the Python `playwright` package (which drives
that browser; its own browser download is never used).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.human.blinding import annotator_order, is_swapped

from .helpers import pairwise_rows, single_rows, write_jsonl

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(300),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium"),
]
playwright_sync = pytest.importorskip("playwright.sync_api", reason="needs the playwright Python package")

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


class Server:
    """`assay human serve` in a subprocess, logging to a file (a full pipe would block the server)."""

    def __init__(self, items: Path, db: Path, mode: str, log: Path, port: int = 0) -> None:
        self.log = log
        cmd = [sys.executable, "-m", "assay.cli.main", "human", "serve", str(items), "--db", str(db)]
        cmd += ["--mode", mode, "--port", str(port)]
        with log.open("w") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        self.url = self._wait_for_url()
        self.port = int(self.url.rsplit(":", 1)[1].strip("/"))

    def _wait_for_url(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"http://127\.0\.0\.1:\d+/", self.log.read_text())
            if match:
                return match.group(0)
            if self.proc.poll() is not None:
                pytest.fail(f"server exited with {self.proc.returncode}: {self.log.read_text()}")
            time.sleep(0.1)
        pytest.fail(f"server did not start: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=BROWSER_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


def login(browser: object, url: str, name: str) -> object:
    """A fresh browser context (its own cookies) logged in as `name`, by keyboard only."""
    page = browser.new_context().new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(90_000)  # generous: CI machines are shared and can be very loaded
    page.goto(url)
    # the name field has autofocus; keys typed before the browser applies it are lost (seen: "bob" arrived as "ob")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'name'")
    page.keyboard.type(name)
    page.keyboard.press("Enter")
    page.wait_for_selector("#progress")
    return page


def shown(page: object) -> tuple[str, str]:
    """(item id, progress text) of the item on the page."""
    item_id = page.locator('input[name="item_id"]').get_attribute("value")  # type: ignore[attr-defined]
    return item_id, page.inner_text("#progress")  # type: ignore[attr-defined]


def rows(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def test_single_mode_kill_and_resume(browser: object, servers: list[Server], tmp_path: Path) -> None:
    items, db = write_jsonl(tmp_path / "items.jsonl", single_rows(5)), tmp_path / "ratings.sqlite"
    ids = [f"q{i}" for i in range(5)]
    alice_order, bob_order = annotator_order("alice", ids), annotator_order("bob", ids)
    servers.append(Server(items, db, "single", tmp_path / "serve1.log"))
    alice = login(browser, servers[0].url, "alice")
    for n, key in enumerate(["7", "0"]):  # keyboard only: digit picks the score, Enter saves
        assert shown(alice) == (alice_order[n], f"Item {n + 1} of 5")
        alice.keyboard.press(key)
        alice.keyboard.press("Enter")
        alice.wait_for_selector(f"#progress:text('Item {n + 2} of 5')")
    bob = login(browser, servers[0].url, "bob")
    assert shown(bob) == (bob_order[0], "Item 1 of 5")
    bob.click("label.pill:has-text('3')")  # mouse: pick 3, write a comment, click save
    bob.fill("#comment", "too short <really>")
    bob.click("#submit")
    bob.wait_for_selector("#progress:text('Item 2 of 5')")
    alice.keyboard.press("4")  # alice picks a score but has not saved when the server dies

    servers[0].kill()
    stored = rows(db, "SELECT annotator, item_id, score, comment FROM ratings ORDER BY annotator, score")
    assert stored == [
        ("alice", alice_order[0], 7, ""),
        ("alice", alice_order[1], 10, ""),
        ("bob", bob_order[0], 3, "too short <really>"),
    ]

    servers.append(Server(items, db, "single", tmp_path / "serve2.log", port=servers[0].port))
    alice.reload()  # her session cookie is still valid: the signing key lives in the database
    assert shown(alice) == (alice_order[2], "Item 3 of 5")
    bob_again = login(browser, servers[1].url, "bob")  # a new browser: bob logs in by name again
    assert shown(bob_again) == (bob_order[1], "Item 2 of 5")
    for n in range(2, 5):
        item_id, _ = shown(alice)
        if item_id == "q1":  # the response holding <script> is shown as text and does not run
            assert "<script>window.pwned = 1</script>" in alice.inner_text("#response")
            assert alice.evaluate("typeof window.pwned") == "undefined"
        alice.keyboard.press(str(n))
        alice.keyboard.press("Enter")
        alice.wait_for_selector(f"#progress:text('Item {n + 2} of 5'), #done")
    alice.wait_for_selector("#done")
    assert rows(db, "SELECT count(*) FROM ratings WHERE annotator = 'alice'") == [(5,)]

    out = tmp_path / "export.jsonl"
    cmd = [sys.executable, "-m", "assay.cli.main", "human", "export", "--db", str(db), "--output", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    model_of = {r["item_id"]: r["model"] for r in single_rows(5)}
    assert len(exported) == 6
    assert all(r["model"] == model_of[r["item_id"]] for r in exported)
    assert {(r["annotator"], r["item_id"], r["score"]) for r in exported} >= {
        ("alice", alice_order[0], 7),
        ("bob", bob_order[0], 3),
    }


def test_pairwise_mode_sides(browser: object, servers: list[Server], tmp_path: Path) -> None:
    items, db = write_jsonl(tmp_path / "pairs.jsonl", pairwise_rows(4)), tmp_path / "pairs.sqlite"
    servers.append(Server(items, db, "pairwise", tmp_path / "serve.log"))
    for name, key in (("alice", "a"), ("bob", "b")):
        page = login(browser, servers[0].url, name)
        for n in range(4):
            item_id, progress = shown(page)
            assert progress == f"Item {n + 1} of 4"
            number = item_id[1:]
            left = page.inner_text("#response-a")
            # blind: no model names; the left side shows beta's answer exactly when swapped for this annotator
            assert "model-" not in page.content()
            expected = "beta" if is_swapped(name, item_id) else "alpha"
            assert left == f"{expected} answer {number}"
            if n == 3:
                page.click("#choose-tie")  # the last one by mouse
            else:
                page.keyboard.press(key)
            page.wait_for_selector(f"#progress:text('Item {n + 2} of 4'), #done")
        page.wait_for_selector("#done")
    stored = rows(db, "SELECT annotator, item_id, choice, swapped, winner FROM ratings")
    assert len(stored) == 8
    for annotator, item_id, choice, swapped, winner in stored:
        assert bool(swapped) == is_swapped(annotator, item_id)
        if choice == "tie":
            assert winner == "tie"
        else:  # alice pressed A (left), bob pressed B (right)
            assert choice == ("A" if annotator == "alice" else "B")
            left_model = "b" if swapped else "a"
            right_model = "a" if swapped else "b"
            assert winner == (left_model if choice == "A" else right_model)
    assert {s[3] for s in stored} == {0, 1}  # both side mappings were exercised
