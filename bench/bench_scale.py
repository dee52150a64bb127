"""Scale beyond this machine, by simulation: `assay run --executor ray` on 1, 2, 4, 8 and 16 simulated GPUs.

    python bench/bench_scale.py [--workers 1,2,4,8,16] [--tasks mmlu] [--limit N] [--data-dir ../shared/data]

Starts a local Ray cluster (a head and a second node, on loopback) and runs the full MMLU request volume
(57 subjects, 14,042 questions, 56,168 loglikelihood requests, 0-shot) through the fake backend with a latency
model of one data-center GPU serving an 8B model: 2 ms per request plus 0.05 ms per forwarded token (a
context shared by a question's choices is forwarded once, as the hf backend does). Each worker is a Ray actor
with a fraction of a CPU: it sleeps for the simulated time, so 16 of them fit on 2 cores.

For each worker count it prints, from the run's summary.json stats: the time from the first unit handed out to
the last one back (the executor phase, which is what more workers shorten; the rest of `assay run` -- loading
the tasks, scoring, writing the folder -- is the same for every count and printed as "whole run"), requests/s,
scaling efficiency T(1) / (N x T(N)), and the straggler tail: time from the first worker left without work to
the end, as a share of the phase. It also checks that every run wrote the same metrics.

Targets (issue "Past one machine"): efficiency >= 0.9 at 16 workers, tail <= 5%, the whole sweep < 10 min.
Measured 2026-12-03 on a 2-core VM shared with other jobs (bench/README.md has the table): 1 worker 218.9 s,
16 workers 13.8 s (4,049 requests/s), efficiency 0.988, tail 0.05 s = 0.3%, sweep 9.2 min, same metrics.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LATENCY_REQUEST_MS = 2.0
LATENCY_TOKEN_MS = 0.05
WORKER_CPU = 0.1


def start_cluster() -> tuple[object, str]:
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # see assay.execution.ray_pool.connect
    from ray.cluster_utils import Cluster

    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "node_ip_address": "127.0.0.1", "include_dashboard": False},
    )
    cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1")
    cluster.wait_for_nodes()
    return cluster, str(cluster.address)


def run_once(workers: int, address: str, args: argparse.Namespace, out: Path) -> dict[str, float]:
    from assay.runs.folder import list_runs

    model_args = f"seed=0,latency_request_ms={LATENCY_REQUEST_MS},latency_token_ms={LATENCY_TOKEN_MS}"
    cmd = [sys.executable, "-m", "assay.cli.main", "run", "--model", "fake", "--model-args", model_args,
           "--tasks", args.tasks, "--data-dir", args.data_dir, "--no-cache", "--quiet",
           "--executor", "ray", "--ray-address", address, "--workers", str(workers),
           "--worker-resources", f"cpu={WORKER_CPU}", "--output", str(out), "--leaderboard", str(out / "lb.csv")]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"assay run failed ({workers} workers):\n{done.stderr}")
    folder = list_runs(out)[-1]
    stats = folder.record.stats["fake"]
    busy = [w["busy_seconds"] for w in stats["workers"]]
    return {
        "phase": float(stats["seconds_running"]),
        "tail": float(stats["seconds_tail"]),
        "requests": float(stats["requests_computed"]),  # distinct requests (MMLU repeats 108 of its 56,168)
        "total": float(stats["requests_total"]),
        "wall": wall,
        "busy_min": min(busy),
        "busy_max": max(busy),
        "metrics": folder.record.metric_map(),  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--tasks", default="mmlu")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--data-dir", default="../shared/data")
    args = parser.parse_args()
    counts = [int(x) for x in args.workers.split(",")]
    sweep_started = time.perf_counter()
    cluster, address = start_cluster()
    print(f"latency model: {LATENCY_REQUEST_MS} ms per request + {LATENCY_TOKEN_MS} ms per forwarded token "
          f"(fake backend); workers: Ray actors with cpu={WORKER_CPU} on a local 2-node cluster ({address})")
    results: dict[int, dict[str, float]] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in counts:
                results[n] = run_once(n, address, args, Path(tmp) / f"w{n}")
                r = results[n]
                base = results[counts[0]]
                eff = base["phase"] * counts[0] / (n * r["phase"])
                print(f"{n:>2} workers: {r['total']:.0f} requests ({r['requests']:.0f} distinct) in {r['phase']:.1f} s "
                      f"({r['requests'] / r['phase']:7.0f} requests/s), efficiency {eff:.3f}, "
                      f"tail {r['tail']:.2f} s = {100 * r['tail'] / r['phase']:.1f}%, "
                      f"busy per worker {r['busy_min']:.1f}-{r['busy_max']:.1f} s, whole run {r['wall']:.1f} s",
                      flush=True)  # fmt: skip
    finally:
        cluster.shutdown()  # type: ignore[attr-defined]
    same = all(r["metrics"] == results[counts[0]]["metrics"] for r in results.values())
    print(f"same metrics in every run: {same}")
    top = max(counts)
    eff = results[counts[0]]["phase"] * counts[0] / (top * results[top]["phase"])
    tail = results[top]["tail"] / results[top]["phase"]
    sweep = time.perf_counter() - sweep_started
    print(f"at {top} workers: efficiency {eff:.3f} (target >= 0.9), tail {100 * tail:.1f}% (target <= 5%); "
          f"sweep {sweep / 60:.1f} min (target < 10)")


if __name__ == "__main__":
    main()
