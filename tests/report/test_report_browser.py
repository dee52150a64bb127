"""The report in a real headless Chromium: sorting by a header click, run and diff pages, no network.

Needs Debian's chromium (/usr/bin/chromium, or ASSAY_CHROMIUM) and the Python package playwright; its own
browser download is never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.report.site import build_site
from tests.leaderboard.runfactory import write_run

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("ASSAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":  # in CI this test is the acceptance check: never skip it silently
            pytest.fail(f"CI run without Chromium at {CHROMIUM}: apt-get install -y chromium")
        pytest.skip("no Chromium: apt-get install -y chromium (or set ASSAY_CHROMIUM)")
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="pip install playwright (no browser download)"
    )
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    lb = tmp_path / "leaderboard.csv"
    runs = tmp_path / "runs"
    # scores chosen so each column orders the three models differently
    write_run(
        runs,
        "20261101-120000-aaaaaa",
        "2026-11-01T12:00:00+00:00",
        {("alpha", "arc_easy"): [1, 1, 1, 0], ("alpha", "hellaswag"): [1, 0, 0, 0]},
        leaderboard=lb,
    )
    write_run(
        runs,
        "20261102-120000-bbbbbb",
        "2026-11-02T12:00:00+00:00",
        {("beta", "arc_easy"): [1, 0, 0, 0], ("beta", "hellaswag"): [1, 1, 1, 1]},
        leaderboard=lb,
    )
    write_run(
        runs,
        "20261103-120000-cccccc",
        "2026-11-03T12:00:00+00:00",
        {("gamma", "arc_easy"): [1, 1, 0, 0], ("gamma", "hellaswag"): [1, 1, 0, 0]},
        leaderboard=lb,
    )
    write_run(
        runs,
        "20261104-120000-dddddd",
        "2026-11-04T12:00:00+00:00",
        {("alpha", "arc_easy"): [1, 0, 1, 1]},
        leaderboard=lb,
    )
    return build_site(tmp_path / "site", lb, runs).parent


def _open(browser: Any, url: str) -> tuple[Any, list[str], list[str]]:
    page = browser.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    return page, requests, errors


def _models(page: Any) -> list[str]:
    return [t.strip() for t in page.locator("#leaderboard tbody td.model").all_inner_texts()]


def test_click_header_sorts_leaderboard(browser: Any, site: Path) -> None:
    page, requests, errors = _open(browser, (site / "index.html").as_uri())
    # initial order: mean, best first (alpha .75/.25, beta .25/1, gamma .5/.5: beta .625 leads)
    assert _models(page)[0] == "beta"
    page.click("#leaderboard thead th:text-is('arc_easy')")
    assert _models(page) == ["beta", "gamma", "alpha"]  # ascending: 0.25, 0.5, 0.75 (alpha's latest run)
    assert page.get_attribute("#leaderboard thead th:text-is('arc_easy')", "aria-sort") == "ascending"
    page.click("#leaderboard thead th:text-is('arc_easy')")
    assert _models(page) == ["alpha", "gamma", "beta"]
    page.click("#leaderboard thead th:text-is('hellaswag')")
    assert _models(page) == ["alpha", "gamma", "beta"]  # 0.25, 0.5, 1.0
    page.click("#leaderboard thead th:text-is('model')")
    assert _models(page) == ["alpha", "beta", "gamma"]
    # charts are inline images that actually decoded
    widths = page.eval_on_selector_all(".charts img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 4 and min(widths) > 100
    assert errors == []
    assert all(u.startswith(("file://", "data:")) for u in requests), requests
    page.close()


def test_run_page_and_diff_page(browser: Any, site: Path) -> None:
    page, requests, errors = _open(browser, (site / "index.html").as_uri())
    page.click("#runs a:text-is('20261104-120000-dddddd')")
    assert page.locator("h1").inner_text() == "Run 20261104-120000-dddddd"
    cells = page.locator("#results tbody tr").first.locator("td").all_inner_texts()
    assert cells[:4] == ["alpha", "arc_easy", "acc", "0.7500"]
    page.click("a:has-text('alpha @ 20261101-120000-aaaaaa')")  # the diff with alpha's previous run
    lost = page.locator("table.flips.lost tbody td:first-child").all_inner_texts()
    gained = page.locator("table.flips.gained tbody td:first-child").all_inner_texts()
    assert lost == ["arc_easy/test/1-00000001"] and gained == ["arc_easy/test/3-00000003"]
    assert errors == [] and all(u.startswith(("file://", "data:")) for u in requests)
    page.close()


def test_screenshot_renders(browser: Any, site: Path, tmp_path: Path) -> None:
    page, _, _ = _open(browser, (site / "index.html").as_uri())
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000  # a table and four charts, not a blank page
    page.close()
