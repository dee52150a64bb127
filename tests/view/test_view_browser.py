"""The sample explorer in real headless Chromium: `assay view` on a local server, and the report's copy opened
from disk (file://) with every network request refused.

Expected figures come from the samples files themselves and from `assay compare --json`.
Set ASSAY_VIEW_SCREENSHOTS=DIR to keep screenshots of the views checked (docs/ holds them).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.view.runs import unit_key

from .conftest import ViewRuns, ViewServer, assay

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
CHROMIUM = os.environ.get("ASSAY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
        "--disable-component-update", "--disable-sync"]  # fmt: skip
WORD = "which"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI run without Chromium at {CHROMIUM}: apt-get install -y chromium")
        pytest.skip("no Chromium: apt-get install -y chromium (or set ASSAY_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (no browser download)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    p = context.new_page()
    p.set_default_timeout(30_000)
    p.requests = requests
    yield p
    context.close()


def _expect(locator: Any) -> Any:
    from playwright.sync_api import expect

    return expect(locator)


def _rows(run: Path, task: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "samples" / f"fake_{task}.jsonl").read_text().splitlines()]


def _texts(row: dict[str, Any]) -> str:
    parts = [row["prompt"], *row["outputs"], *row["choices"]]
    parts += [v for v in (row["prediction"], row["target"]) if isinstance(v, str)]
    return "\n".join(parts).lower()


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("ASSAY_VIEW_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name))


def _ready(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-ready]")


def check_list_and_sample(page: Any, base: str, runs: ViewRuns) -> None:
    """One run: filter to wrong answers of arc_easy, search a word, open a sample and see all of it."""
    rows = _rows(runs.a, "arc_easy")
    wrong = [r for r in rows if r["scores"]["acc"] < 1]
    hits = [r for r in wrong if WORD in _texts(r)]
    assert 0 < len(hits) < len(rows)
    _ready(page, f"{base}#run={runs.a.name}")
    page.select_option("#f-task", "arc_easy")
    _expect(page.locator("#count")).to_have_text(str(len(rows)))
    page.select_option("#f-correct", "wrong")
    _expect(page.locator("#count")).to_have_text(str(len(wrong)))
    page.fill("#f-q", WORD)
    page.click("#f-go")
    _expect(page.locator("#count")).to_have_text(str(len(hits)))
    _expect(page.locator("#rows tr")).to_have_count(len(hits))
    _shot(page, "viewer-list.png")
    page.locator("#rows a.open").first.click()
    first = hits[0]
    _expect(page.locator("#sample-id")).to_have_text(first["sample_id"])
    fold = page.text_content("#fold pre") if page.locator("#fold").count() else ""
    assert fold + page.text_content("#question") == first["prompt"]  # the whole prompt, nothing cut
    choice_rows = page.locator("#choices tr")
    _expect(choice_rows).to_have_count(len(first["choices"]) + 1)
    for k, (choice, ll) in enumerate(zip(first["choices"], first["loglikelihoods"], strict=True)):
        cells = choice_rows.nth(k + 1).locator("td")
        assert choice in cells.nth(1).inner_text()
        assert float(cells.nth(2).inner_text()) == pytest.approx(ll, abs=1e-4)
    chosen = choice_rows.nth(first["prediction"] + 1).locator("td").nth(3).inner_text()
    assert "acc" in chosen  # the choice acc picked is marked
    scores = page.inner_text("#scores")
    assert "acc" in scores and "acc_norm" in scores
    _shot(page, "viewer-sample.png")
    # a generated answer: the output is shown whole, the extracted answer marked, by the sample's own link
    gen = _rows(runs.a, "gsm8k")[0]
    key = unit_key(runs.a.name, "fake", "gsm8k")
    _ready(page, f"{base}#s={key}&id={gen['sample_id']}")
    _expect(page.locator("#sample-id")).to_have_text(gen["sample_id"])
    assert page.inner_text(".output") == gen["outputs"][0]
    assert page.inner_text("#target") == str(gen["target"])
    assert page.locator("#fold").count() == 1  # gsm8k's few-shot examples are folded away
    assert page.text_content("#fold pre") + page.text_content("#question") == gen["prompt"]


def check_compare(page: Any, base: str, runs: ViewRuns) -> None:
    """Two runs: the 2x2 table of arc_easy / acc has the counts and p-value `assay compare` prints."""
    done = assay("compare", str(runs.a), str(runs.b), "--task", "arc_easy", "--metric", "acc", "--json",
                 cwd=runs.root, env=runs.env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    [want] = json.loads(done.stdout)
    _ready(page, f"{base}#v=compare")
    page.select_option("#c-a", f"{runs.a.name}|fake")
    page.select_option("#c-b", f"{runs.b.name}|fake")
    page.select_option("#c-task", "arc_easy")
    page.select_option("#c-metric", "acc")
    _expect(page.locator("#c-wtl")).to_have_text(f"{want['wins']}/{want['ties']}/{want['losses']}")
    cells = {c: int(page.inner_text(f"#cell-{c}")) for c in ("RR", "RW", "WR", "WW")}
    assert (cells["RW"], cells["WR"], cells["RR"] + cells["WW"]) == (want["wins"], want["losses"], want["ties"])
    assert int(page.inner_text("#c-n")) == want["n"] == sum(cells.values())
    assert float(page.inner_text("#c-p")) == pytest.approx(want["p_value"], rel=1e-3)
    assert page.inner_text("#c-test") == want["test"] == "mcnemar_exact"
    _shot(page, "viewer-compare.png")
    page.click("#cell-RW")  # the samples A got right and B wrong
    _expect(page.locator("#count")).to_have_text(str(want["wins"]))
    # the same pairs from the list: run A's arc_easy samples flipped against run B
    _ready(page, f"{base}#run={runs.a.name}&task=arc_easy&flip={runs.b.name}|fake")
    _expect(page.locator("#count")).to_have_text(str(want["wins"] + want["losses"]))


def check_code(page: Any, base: str, runs: ViewRuns) -> None:
    """A code sample: the verdict, the failing test's source and the program's stderr."""
    [row] = [r for r in _rows(runs.code, "view_code") if r["scores"]["passed_first"] == 0]
    _ready(page, f"{base}#s={unit_key(runs.code.name, 'fake', 'view_code')}&id={row['sample_id']}")
    _expect(page.locator("#verdict")).to_contain_text("failed")
    assert page.inner_text("#failing-test") == "assert half(3) == 1.5, 'half of an odd number'"
    assert page.inner_text("#stderr").strip() == "halving numbers today"
    assert page.inner_text("#stdout").strip() == "stdout says hi"
    _shot(page, "viewer-code.png")


def test_view_server(page: Any, view_server: type[ViewServer], view_runs: ViewRuns) -> None:
    one = view_server([view_runs.a])
    check_list_and_sample(page, one.url, view_runs)
    three = view_server([view_runs.a, view_runs.b, view_runs.code])
    check_compare(page, three.url, view_runs)
    check_code(page, three.url, view_runs)
    assert all(u.startswith(("http://127.0.0.1", "data:")) for u in page.requests), page.requests


def test_static_report_from_disk_without_network(page: Any, view_runs: ViewRuns) -> None:
    done = assay("report", "--output", "site", "--runs", "runs", "--leaderboard", "none.csv",
                 cwd=view_runs.root, env=view_runs.env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    page.route("http*://**", lambda route: route.abort())  # no network: any http(s) request fails
    base = (view_runs.root / "site" / "explore" / "index.html").as_uri()
    check_list_and_sample(page, base, view_runs)
    check_compare(page, base, view_runs)
    check_code(page, base, view_runs)
    assert page.requests and all(u.startswith("file://") for u in page.requests), page.requests
