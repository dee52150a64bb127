"""Load on the human rating app: N annotators at once, each in its own cookie session, through the real forms.

    python bench/bench_human.py --annotators 1,10,50,100 --seconds 10 --kill-annotators 100

For each N: a fresh database and `assay human serve ... --mode pairwise --require-invite` (the CLI, on
127.0.0.1), `assay human invite` for N names, then N annotators (threads, spread over a few client processes)
that open their invitation link, sign in with the CSRF token read from the page, and rate through the real
forms (POST /rate, follow the redirect to the next item) as fast as the server answers, for --seconds.
Printed: ratings/s, p50/p95/max latency of every HTTP request, errors, and acknowledged ratings (the POST
answered with its redirect) against the rows stored in the database. Also the server's own share: the time the
app took per request (its Server-Timing header: what queueing adds is the rest) and the CPU the server and the
client processes used during the load, since on a small machine they compete for the same cores.

Then the crash: the same load with --kill-annotators annotators, the server SIGKILLed after --kill-after
seconds, restarted on the same database and port, and the acknowledged ratings missing from it counted (the
annotators' sessions must still work after the restart). Traffic goes only to 127.0.0.1; every loop is
bounded in time and count. Exit status 1 when a target is missed (0 errors, p95 < 200 ms, max < 2 s, every
acknowledged rating stored, none lost to the SIGKILL).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

HOST = "127.0.0.1"
TIMEOUT_S = 10.0  # a request slower than this is an error (the target is 2 s)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ITEM = re.compile(r'name="item_id" value="([^"]+)"')
INVITE = re.compile(r'name="invite" value="([^"]+)"')
APP_TIMING = re.compile(r"app;dur=([\d.]+)")
CHOICES = ("A", "B", "tie")


# ------------------------------------------------------------------------------------------- the server


class Server:
    """`assay human serve` in a subprocess (output to a file: a full pipe would block it)."""

    def __init__(self, items: Path, db: Path, log: Path, threads: int, port: int = 0) -> None:
        cmd = [sys.executable, "-m", "assay.cli.main", "human", "serve", str(items), "--db", str(db)]
        cmd += ["--mode", "pairwise", "--host", HOST, "--port", str(port), "--threads", str(threads)]
        cmd += ["--require-invite"]
        self.log = log
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
                sys.exit(f"server exited with {self.proc.returncode}: {self.log.read_text()}")
            time.sleep(0.05)
        self.proc.kill()
        sys.exit(f"server did not start within {timeout} s: {self.log.read_text()}")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def write_items(path: Path, n: int) -> Path:
    rows = [
        {
            "item_id": f"p{i}",
            "prompt": f"Question {i}: which answer is better?",
            "response_a": f"First answer to question {i}. " * 8,
            "response_b": f"Second answer to question {i}. " * 8,
            "model_a": "model-a",
            "model_b": "model-b",
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def invite(db: Path, names: list[str], url: str) -> list[tuple[str, str]]:
    """(name, link) per annotator, from `assay human invite` (one process for all names)."""
    cmd = [sys.executable, "-m", "assay.cli.main", "human", "invite", *names, "--db", str(db), "--url", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    links = [tuple(line.split("\t")) for line in out.splitlines() if "\t" in line]
    assert [n for n, _ in links] == names, out
    return [(n, link) for n, link in links]


# ----------------------------------------------------------------------------------------- an annotator


@dataclass
class Tally:
    """What one client process saw."""

    latencies: list[float] = field(default_factory=list)
    app_latencies: list[float] = field(default_factory=list)  # the app's own time (Server-Timing), seconds
    cpu_s: float = 0.0  # CPU time the client processes used during the load
    acked: list[tuple[str, str, str]] = field(default_factory=list)  # (annotator, item_id, choice)
    errors: list[str] = field(default_factory=list)
    unanswered_posts: int = 0  # POSTs whose answer never came: stored or not, neither is a loss
    cookies: dict[str, str] = field(default_factory=dict)  # annotator -> session cookie, for the restart
    slowest: tuple[float, str, float] = (0.0, "", 0.0)  # (seconds, request, seconds since the load began)
    began: float = 0.0
    finished: int = 0  # annotators that rated every item
    first: float = float("inf")
    last: float = 0.0


class Annotator:
    """One browser-like session: keep-alive connection, its own cookie, forms with their CSRF token."""

    def __init__(self, name: str, link: str, tally: Tally, lock: threading.Lock) -> None:
        self.name, self.link, self.tally, self.lock = name, link, tally, lock
        parts = urlsplit(link)
        self.conn = http.client.HTTPConnection(parts.hostname or HOST, parts.port, timeout=TIMEOUT_S)
        self.path = parts.path
        self.cookie = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            text = response.read().decode("utf-8")
        except Exception:
            self.conn.close()
            raise
        elapsed = time.perf_counter() - start
        app = APP_TIMING.search(response.headers.get("Server-Timing", ""))
        with self.lock:
            self.tally.latencies.append(elapsed)
            if app:
                self.tally.app_latencies.append(float(app.group(1)) / 1000)
            if elapsed > self.tally.slowest[0]:
                self.tally.slowest = (elapsed, f"{method} {path}", time.monotonic() - self.tally.began)
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie(header)
            self.cookie = "; ".join(f"{k}={m.value}" for k, m in jar.items())
        return response.status, text

    def expect(self, method: str, path: str, status: int, form: dict[str, str] | None = None) -> str:
        got, text = self.request(method, path, form)
        if got != status:
            raise RuntimeError(f"{method} {path}: HTTP {got}, expected {status}")
        return text

    def run(self, deadline: float, rng: random.Random) -> None:
        try:
            page = self.expect("GET", self.path, 200)
            form = {"csrf_token": _find(CSRF, page), "invite": _find(INVITE, page)}
            self.expect("POST", "/login", 302, form)
            page = self.expect("GET", "/rate", 200)
            for _ in range(100_000):  # bounded: the deadline ends it long before
                if 'id="done"' in page:
                    with self.lock:
                        self.tally.finished += 1
                    return
                if time.monotonic() >= deadline:
                    return
                item_id, choice = _find(ITEM, page), rng.choice(CHOICES)
                self._rate(item_id, choice, _find(CSRF, page))
                page = self.expect("GET", "/rate", 200)
        except Exception as exc:  # noqa: BLE001 - every failure is counted and reported, not raised
            with self.lock:
                self.tally.errors.append(f"{self.name}: {type(exc).__name__}: {exc}")
        finally:
            with self.lock:
                self.tally.cookies[self.name] = self.cookie
            self.conn.close()

    def _rate(self, item_id: str, choice: str, csrf: str) -> None:
        form = {"csrf_token": csrf, "item_id": item_id, "choice": choice, "comment": ""}
        try:
            status, _ = self.request("POST", "/rate", form)
        except Exception:
            with self.lock:
                self.tally.unanswered_posts += 1
            raise
        if status != 302:
            raise RuntimeError(f"POST /rate: HTTP {status}")
        now = time.monotonic()
        with self.lock:
            self.tally.acked.append((self.name, item_id, choice))
            self.tally.first, self.tally.last = min(self.tally.first, now), max(self.tally.last, now)


def _find(pattern: re.Pattern[str], page: str) -> str:
    match = pattern.search(page)
    if not match:
        raise RuntimeError(f"page without {pattern.pattern!r}")
    return match.group(1)


def client_process(annotators: list[tuple[str, str]], start: float, seconds: float) -> Tally:
    """Run these annotators as threads from `start` (a time.time()) for `seconds`; return what they saw."""
    tally, lock = Tally(), threading.Lock()
    time.sleep(max(0.0, start - time.time()))
    tally.began, cpu = time.monotonic(), time.process_time()
    deadline = tally.began + seconds
    threads = [
        threading.Thread(target=Annotator(name, link, tally, lock).run, args=(deadline, random.Random(name)))
        for name, link in annotators
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 4 * TIMEOUT_S)
    tally.cpu_s = time.process_time() - cpu
    return tally


def run_load(links: list[tuple[str, str]], seconds: float, procs: int, pool: ProcessPoolExecutor) -> list:
    start = time.time() + 0.5  # every process starts its annotators at the same moment
    shares = [links[i::procs] for i in range(procs)]
    return [pool.submit(client_process, share, start, seconds) for share in shares if share]


def merge(tallies: list[Tally]) -> Tally:
    total = Tally()
    for t in tallies:
        total.latencies += t.latencies
        total.app_latencies += t.app_latencies
        total.cpu_s += t.cpu_s
        total.acked += t.acked
        total.errors += t.errors
        total.unanswered_posts += t.unanswered_posts
        total.cookies |= t.cookies
        total.finished += t.finished
        total.slowest = max(total.slowest, t.slowest)
        total.first, total.last = min(total.first, t.first), max(total.last, t.last)
    return total


# ---------------------------------------------------------------------------------------------- checks


def stored(db: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(db) as conn:
        return set(conn.execute("SELECT annotator, item_id, choice FROM ratings").fetchall())


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


def report(label: str, total: Tally, rows: set[tuple[str, str, str]], seconds: float) -> dict[str, float]:
    acked = set(total.acked)
    lat = total.latencies
    figures = {
        "ratings_per_s": len(total.acked) / seconds,
        "requests": len(lat),
        "p50_ms": 1000 * percentile(lat, 0.50),
        "p95_ms": 1000 * percentile(lat, 0.95),
        "max_ms": 1000 * max(lat, default=float("nan")),
        "errors": len(total.errors),
        "acknowledged": len(acked),
        "stored": len(rows),
        "lost": len(acked - rows),
        "stored_unacknowledged": len(rows - acked),
    }
    print(
        f"{label}: {figures['ratings_per_s']:.0f} ratings/s, {len(lat)} requests, "
        f"p50 {figures['p50_ms']:.1f} ms, p95 {figures['p95_ms']:.1f} ms, max {figures['max_ms']:.0f} ms, "
        f"{len(total.errors)} errors; acknowledged {len(acked)}, stored {len(rows)}, "
        f"acknowledged but not stored {figures['lost']}, stored but not acknowledged "
        f"{figures['stored_unacknowledged']} (POSTs left unanswered: {total.unanswered_posts})",
        flush=True,
    )
    app = total.app_latencies
    figures |= {"app_p50_ms": 1000 * percentile(app, 0.50), "app_p95_ms": 1000 * percentile(app, 0.95)}
    print(
        f"  the app's own time (Server-Timing): p50 {figures['app_p50_ms']:.1f} ms, p95 {figures['app_p95_ms']:.1f}"
        f" ms, max {1000 * max(app, default=float('nan')):.0f} ms; the rest of each latency is queueing and client"
    )
    late, what, when = total.slowest
    print(f"  slowest: {what} {1000 * late:.0f} ms, {when:.1f} s into the load; annotators done: {total.finished}")
    for error in total.errors[:5]:
        print(f"  error: {error}")
    return figures


# ---------------------------------------------------------------------------------------------- phases


def load_phase(n: int, args: argparse.Namespace, work: Path, pool: ProcessPoolExecutor) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix=f"load-{n}-", dir=work))
    items, db = write_items(folder / "items.jsonl", args.items), folder / "ratings.sqlite"
    server = Server(items, db, folder / "serve.log", args.threads)
    try:
        links = invite(db, [f"annotator-{i}" for i in range(n)], server.url)
        futures = run_load(links, args.seconds, min(n, args.client_procs), pool)
        time.sleep(0.5)  # run_load's start delay: the load begins now
        server_cpu = cpu_seconds(server.proc.pid)
        total = merge([f.result(timeout=args.seconds + 120) for f in futures])
        server_cpu = cpu_seconds(server.proc.pid) - server_cpu
    finally:
        server.stop()
    window = max(min(args.seconds, total.last - total.first), 1e-9)
    figures = report(f"{n} annotators", total, stored(db), window)
    figures |= {"server_cpu": server_cpu / args.seconds, "client_cpu": total.cpu_s / args.seconds}
    print(f"  CPU during the load, in cores: server {figures['server_cpu']:.2f}, clients {figures['client_cpu']:.2f}"
          f" (of {os.cpu_count()}; load average {os.getloadavg()[0]:.1f})")
    return figures


def kill_phase(n: int, args: argparse.Namespace, work: Path, pool: ProcessPoolExecutor) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix=f"kill-{n}-", dir=work))
    items, db = write_items(folder / "items.jsonl", args.items), folder / "ratings.sqlite"
    server = Server(items, db, folder / "serve1.log", args.threads)
    try:
        links = invite(db, [f"annotator-{i}" for i in range(n)], server.url)
        futures = run_load(links, args.kill_after + 5, min(n, args.client_procs), pool)
        time.sleep(0.5 + args.kill_after)
        server.kill()
        killed_at = time.monotonic()
        total = merge([f.result(timeout=args.kill_after + 120) for f in futures])
    finally:
        server.stop()
    print(f"SIGKILL after {args.kill_after:.0f} s of load; clients stopped within {time.monotonic() - killed_at:.1f} s")
    restarted = Server(items, db, folder / "serve2.log", args.threads, port=server.port)
    try:
        sessions_ok = resume_check(restarted, links, total.cookies)
    finally:
        restarted.stop()
    figures = report(f"{n} annotators, SIGKILL + restart", total, stored(db), args.kill_after)
    print(f"after the restart {sessions_ok}/{len(links)} annotators' sessions reached their next item")
    figures["sessions_ok"] = sessions_ok
    return figures


def resume_check(server: Server, links: list[tuple[str, str]], cookies: dict[str, str]) -> int:
    """How many annotators, with the cookie they had at the kill, get their next item from the new server."""
    ok = 0
    for name, _ in links:
        conn = http.client.HTTPConnection(HOST, server.port, timeout=TIMEOUT_S)
        try:
            conn.request("GET", "/rate", headers={"Cookie": cookies.get(name, "")})
            response = conn.getresponse()
            page = response.read().decode("utf-8")
            ok += response.status == 200 and (ITEM.search(page) is not None or 'id="done"' in page)
        finally:
            conn.close()
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annotators", default="1,10,50,100", help="comma-separated annotator counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per count")
    parser.add_argument("--items", type=int, default=4000, help="pairwise items in the file")
    parser.add_argument("--threads", type=int, default=16, help="server threads (serve's default: 16)")
    parser.add_argument("--client-procs", type=int, default=2, help="client processes the annotators share")
    parser.add_argument("--kill-annotators", type=int, default=100, help="annotators in the SIGKILL phase (0: skip)")
    parser.add_argument("--kill-after", type=float, default=5.0, help="seconds of load before the SIGKILL")
    args = parser.parse_args()
    counts = [int(c) for c in args.annotators.split(",") if c.strip()]
    print(f"items {args.items}, server threads {args.threads}, client processes {args.client_procs}, "
          f"{args.seconds:.0f} s per count, load average {os.getloadavg()[0]:.1f}", flush=True)
    failures: list[str] = []
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="bench-human-") as tmp, ProcessPoolExecutor(
        max_workers=args.client_procs, mp_context=context
    ) as pool:
        work = Path(tmp)
        for n in counts:
            f = load_phase(n, args, work, pool)
            if f["errors"] or f["p95_ms"] >= 200 or f["max_ms"] >= 2000 or f["lost"] or f["stored_unacknowledged"]:
                failures.append(f"{n} annotators")
        if args.kill_annotators:
            f = kill_phase(args.kill_annotators, args, work, pool)
            if f["lost"] or f["sessions_ok"] < args.kill_annotators:
                failures.append("SIGKILL")
    print(f"load average {os.getloadavg()[0]:.1f}")
    print("targets met" if not failures else f"targets missed: {', '.join(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
