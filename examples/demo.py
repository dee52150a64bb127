"""`make demo`: a real evaluation end to end on the default model, through the CLI a user would type.

1. multiple-choice benchmarks (ARC-Easy, HellaSwag, WinoGrande, PIQA; 100 rows each) on SmolLM2-135M
2. code generation on assay's own example suite, executed in the sandbox (pass@1)
3. the leaderboard, an offline HTML report, and the run logged to a local MLflow store
Everything lands in --output (default demo-output/): runs/, data/leaderboard.csv, report/, mlflow.db.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path


def step(title: str, *args: str, cwd: Path) -> None:
    print(f"\n\033[1m== {title}\033[0m\n$ assay {shlex.join(args)}", flush=True)
    result = subprocess.run([sys.executable, "-m", "assay.cli.main", *args], cwd=cwd)
    if result.returncode != 0:
        sys.exit(f"demo step failed: {title} (exit {result.returncode})")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", default="../shared/data", help="benchmark data folder (<id>/<config>/<split>.jsonl)"
    )
    parser.add_argument("--output", default="demo-output", help="where runs, leaderboard and report go")
    parser.add_argument("--limit", default="100", help="rows per multiple-choice task")
    args = parser.parse_args()
    out = Path(args.output).resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = str(Path(args.data_dir).resolve())
    step(
        "multiple-choice benchmarks on smollm2-135m",
        "run",
        "--model",
        "smollm2-135m",
        "--tasks",
        "arc_easy,hellaswag,winogrande,piqa",
        "--limit",
        args.limit,
        "--data-dir",
        data,
        cwd=out,
    )
    step(
        "code generation (chat prompt), executed in the sandbox",
        "run",
        "--model",
        "smollm2-135m",
        "--tasks",
        "assay_example_chat",
        "--data-dir",
        data,
        cwd=out,
    )
    step("leaderboard", "leaderboard", "show", cwd=out)
    step("offline HTML report", "report", "--output", "report", cwd=out)
    latest = sorted(p.name for p in (out / "runs").iterdir() if p.is_dir())[-2]
    step("log the benchmark run to MLflow (embedded store ./mlflow.db)", "tracking", "log", latest, cwd=out)
    print(
        f"\ndone: runs in {out / 'runs'}, leaderboard {out / 'data' / 'leaderboard.csv'}, "
        f"report {out / 'report' / 'index.html'}, MLflow store {out / 'mlflow.db'}"
    )


if __name__ == "__main__":
    main()
