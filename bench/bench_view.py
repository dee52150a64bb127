"""The sample explorer at scale: a run of 100,420 samples in `assay view` and in the report, in real Chromium.

    python bench/bench_view.py [--data-dir ../shared/data] [--models 10] [--clients 20] [--seconds 15]
                               [--run RUN_FOLDER]   # reuse a run written before

The run: the fake backend on all 10,042 HellaSwag validation rows for 10 fake models (seeds 0-9) in one
`assay run --models` (each sample keeps its real context and four endings with their loglikelihoods).
Measured, each printed as one line:
  - the run written (seconds);
  - `assay view RUN`: process start to URL printed; page load to the first rows shown, with the samples index
    cold (never built: ASSAY_CACHE is a fresh folder) and warm (a second server on the same cache);
  - filters over all 100,420 samples: wrong answers only, a value range, one task of one model, and a text
    search over every samples file (the time from the change to the new counts shown);
  - Chromium's memory after all that: the page's JS heap (CDP Performance.getMetrics) and the summed RSS of
    every Chromium process;
  - `assay report` on the run: build time, and page load from disk (file://) to the first rows;
  - N concurrent HTTP clients against `assay view` for S seconds, each looping over: a page of 50 rows at a
    random offset, a text search, the index of a unit; requests/s and p50/p95 latency per kind.
Targets (issue 25): first rows < 2 s, a filter < 1 s, memory < 500 MB, the report's first page < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
ASSAY = [sys.executable, "-m", "assay.cli.main"]


def write_run(work: Path, data_dir: str, models: int) -> Path:
    spec = "".join(f"- {{name: fake{i}, model: fake, args: {{seed: {i}}}}}\n" for i in range(models))
    (work / "models.yaml").write_text(spec)
    started = time.perf_counter()
    cmd = [*ASSAY, "run", "--models", "models.yaml", "--tasks", "hellaswag", "--data-dir", data_dir,
           "--output", "runs", "--no-leaderboard", "--no-cache", "-q"]  # fmt: skip
    subprocess.run(cmd, cwd=work, check=True, capture_output=True)
    [run] = sorted((work / "runs").iterdir())
    lines = sum(p.read_bytes().count(b"\n") for p in (run / "samples").glob("*.jsonl"))
    size = sum(p.stat().st_size for p in (run / "samples").glob("*.jsonl")) / 1e6
    print(f"run written: {lines} samples, {size:.0f} MB of samples files, {time.perf_counter() - started:.1f} s")
    return run


class Server:
    def __init__(self, run: Path, env: dict[str, str], log: Path) -> None:
        started = time.perf_counter()
        with log.open("w") as out:
            self.proc = subprocess.Popen([*ASSAY, "view", str(run), "--port", "0"], stdout=out,
                                         stderr=subprocess.STDOUT, env=env)  # fmt: skip
        while not (found := re.search(r"http://127\.0\.0\.1:\d+/", log.read_text())):
            if self.proc.poll() is not None:
                raise SystemExit(f"assay view failed: {log.read_text()}")
            time.sleep(0.02)
        self.url = found.group(0)
        self.start_seconds = time.perf_counter() - started

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def first_rows(page: Any, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#rows tr", timeout=120_000)
    return time.perf_counter() - started


def timed_change(page: Any, action: Any) -> tuple[float, str]:
    """Seconds from an action to the page's next finished render, and the counts it shows."""
    before = page.get_attribute("body", "data-ready")
    started = time.perf_counter()
    action()
    page.wait_for_function(f"document.body.dataset.ready !== {json.dumps(before)}", timeout=120_000)
    return time.perf_counter() - started, page.inner_text("#counts")


def memory(page: Any) -> tuple[float, float, float]:
    """(JS heap of the page, PSS summed over this browser's processes, RSS of the page's renderer) in MB.

    PSS counts a page shared by several processes once (RSS would count Chromium's shared libraries in every
    one of its processes)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    pss, renderer = 0, 0
    for proc in psutil.Process(os.getpid()).children(recursive=True):
        try:
            if "chrom" not in proc.name():
                continue
            info = proc.memory_full_info()
            pss += info.pss
            if "--type=renderer" in " ".join(proc.cmdline()):
                renderer = max(renderer, info.rss)
        except psutil.NoSuchProcess:
            continue
    return metrics["JSHeapUsedSize"] / 1e6, pss / 1e6, renderer / 1e6


def print_memory(label: str, page: Any) -> None:
    heap, pss, renderer = memory(page)
    print(f"{label}: JS heap {heap:.0f} MB, renderer RSS {renderer:.0f} MB, all Chromium processes PSS {pss:.0f} MB")


def browser_part(run: Path, work: Path, env: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    cold = Server(run, env, work / "cold.log")
    print(f"assay view: URL printed {cold.start_seconds:.2f} s after start")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        blank = browser.new_page()
        blank.goto("about:blank")
        print_memory("Chromium with an empty page (baseline)", blank)
        blank.close()
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        print(f"first rows, index cold (built now): {first_rows(page, cold.url):.2f} s")
        page.close()
        cold.stop()
        warm = Server(run, env, work / "warm.log")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        print(f"first rows, index warm (cached on disk): {first_rows(page, warm.url):.2f} s")
        for label, action in [
            ("filter wrong answers of all 100k", lambda: page.select_option("#f-correct", "wrong")),
            ("filter one model", lambda: page.select_option("#f-model", "fake3")),
            ("clear filters", lambda: page.click("#f-clear")),
            ("filter value range (acc_norm >= 1)", lambda: (page.select_option("#f-metric", "acc_norm"),
                                                            page.fill("#f-min", "1"), page.press("#f-min", "Enter"))),
            ("clear filters", lambda: page.click("#f-clear")),
            ("search 'frisbee' in every file", lambda: (page.fill("#f-q", "frisbee"), page.click("#f-go"))),
            ("search 'the' (nearly every row)", lambda: (page.fill("#f-q", "the"), page.click("#f-go"))),
            ("search 'man' + wrong answers", lambda: (page.fill("#f-q", "man"), page.click("#f-go"),
                                                      page.select_option("#f-correct", "wrong"))),
        ]:  # fmt: skip
            seconds, counts = timed_change(page, action)
            print(f"{label}: {seconds:.2f} s  ({counts})")
        print_memory("after the filters", page)
        page.close()
        warm.stop()
        site = work / "site"
        started = time.perf_counter()
        cmd = [*ASSAY, "report", "--output", str(site), "--runs", str(run.parent), "--leaderboard", "none.csv"]
        subprocess.run(cmd, cwd=work, check=True, capture_output=True, env=env)
        print(f"assay report built in {time.perf_counter() - started:.1f} s")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route("http*://**", lambda route: route.abort())
        url = (site / "explore" / "index.html").as_uri()
        print(f"report from disk, first rows: {first_rows(page, url):.2f} s")
        seconds, counts = timed_change(page, lambda: page.select_option("#f-correct", "wrong"))
        print(f"report: filter wrong answers of all 100k: {seconds:.2f} s  ({counts})")
        seconds, counts = timed_change(page, lambda: (page.fill("#f-q", "frisbee"), page.click("#f-go")))
        print(f"report: search 'frisbee' (loads every data file): {seconds:.2f} s  ({counts})")
        print_memory("report: after the filter and the search", page)
        browser.close()


def load_part(run: Path, work: Path, env: dict[str, str], clients: int, seconds: float) -> None:
    server = Server(run, env, work / "load.log")
    units = httpx.get(server.url + "api/manifest").json()["units"]
    for u in units:  # indexes in memory first: the load is the steady state, not the first build
        httpx.get(server.url + "api/index", params={"unit": u["key"]}, timeout=120)
    if len(units) != 10:
        raise SystemExit("the load part pages rows 0..10041 of 10 units: run it on the run this script writes")
    words = ["frisbee", "guitar", "kitchen", "then", "ball", "water"]
    latencies: dict[str, list[float]] = {"rows": [], "search": [], "index": []}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=60) as http:
            while time.perf_counter() < deadline:
                unit = rng.choice(units)["key"]
                kind = rng.choices(["rows", "search", "index"], weights=[6, 2, 2])[0]
                if kind == "rows":
                    start = rng.randrange(0, 10_042 - 50)
                    params = {"unit": unit, "rows": ",".join(map(str, range(start, start + 50)))}
                elif kind == "search":
                    params = {"unit": unit, "q": rng.choice(words)}
                else:
                    params = {"unit": unit}
                t = time.perf_counter()
                r = http.get(f"api/{kind}", params=params)
                r.raise_for_status()
                with lock:
                    latencies[kind].append(time.perf_counter() - t)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    server.stop()
    total = sum(len(v) for v in latencies.values())
    print(f"{clients} concurrent clients for {elapsed:.1f} s: {total} requests, {total / elapsed:.0f} req/s")
    for kind, values in latencies.items():
        if values:
            q = statistics.quantiles(values, n=20)
            print(f"  {kind:6s} {len(values):6d} requests  p50 {1000 * statistics.median(values):6.0f} ms  "
                  f"p95 {1000 * q[18]:6.0f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--run", type=Path, help="a run folder written before (skips writing one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-view-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "ASSAY_CACHE": str(work / "cache")}
        run = args.run.resolve() if args.run else write_run(work, str(Path(args.data_dir).resolve()), args.models)
        browser_part(run, work, env)
        load_part(run, work, env, args.clients, args.seconds)


if __name__ == "__main__":
    main()
