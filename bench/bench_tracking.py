"""MLflow logging speed: assay's batched log_run vs one fluent MLflow call per value, side by side.

    python bench/bench_tracking.py [--tasks 20] [--rows 50] [--rounds 3]

Both sides log the same run folder (N tasks, their params, metrics with stderr and n, tags, artifacts) into
their own fresh embedded sqlite store (migrated before timing). The reference is what an integration without
batching does: mlflow.log_param / log_metric / set_tag per value (each is one database commit) plus one
log_artifacts call. Rounds alternate the order so machine load hits both sides. Printed: the median seconds of
each and the ratio (fluent / assay).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


def fluent_log(run_dir: Path, uri: str) -> None:
    """The unbatched reference: one call, one commit, per value."""
    import mlflow

    from assay.tracking import mlflow_log

    summary, config = mlflow_log._read_run(run_dir)
    model = summary["models"][0]
    results = summary["results"]
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="fluent"):
        for key, value in mlflow_log._params(config, model, results).items():
            mlflow.log_param(key, value)
        for key, value in mlflow_log._metrics(summary, results).items():
            mlflow.log_metric(key, value)
        for key, value in mlflow_log._tags(summary, model, results, "SmolLM2", "instruct-q4").items():
            mlflow.set_tag(key, value)
        mlflow.log_artifacts(str(run_dir))


def fresh_store(root: Path, name: str) -> str:
    from assay.tracking.store import get_client, sqlite_uri

    uri = sqlite_uri(root / name / "mlflow.db")
    get_client(uri)  # schema migration is not part of what is timed
    return uri


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from tests.tracking.runfolders import write_run

    from assay.tracking.mlflow_log import log_runs

    with tempfile.TemporaryDirectory(prefix="bench-tracking-") as tmp:
        root = Path(tmp)
        tasks = tuple(f"task_{i:02d}" for i in range(args.tasks))
        run_dir = write_run(root / "runs", tasks=tasks, n=args.rows)
        times: dict[str, list[float]] = {"assay": [], "fluent": []}
        for r in range(args.rounds):
            order = ["assay", "fluent"] if r % 2 == 0 else ["fluent", "assay"]
            for side in order:
                uri = fresh_store(root, f"{side}-{r}")
                os.chdir(root / f"{side}-{r}")
                start = time.perf_counter()
                if side == "assay":
                    log_runs(run_dir, uri, "assay")
                else:
                    fluent_log(run_dir, uri)
                times[side].append(time.perf_counter() - start)
        a, f = statistics.median(times["assay"]), statistics.median(times["fluent"])
        print(f"{args.tasks} tasks x {args.rows} rows, {args.rounds} rounds (median seconds)")
        print(f"  assay log_run (batched): {a:.2f} s")
        print(f"  fluent, one call/value:  {f:.2f} s")
        print(f"  ratio fluent / assay:    {f / a:.1f}x")


if __name__ == "__main__":
    main()
