"""lm-eval's own YAML of a task through assay (`lm:TASK`) against assay's built-in task, paired, many rounds.

    python bench/bench_lm_vs_builtin.py [--tasks arc_easy,hellaswag,mmlu_high_school_geography] [--limit 200]
        [--rounds 5] [--batch-size 8] [--data-dir ../shared/data] [--model-dir DIR]

Issue 23 asks that lm-eval's YAMLs through assay be at least as fast, relative to lm-eval, as assay's built-in
versions of the same tasks. lm-eval's own time is the same reference for both, so that is the same as asking
that `assay run --tasks lm:T` take no longer than `assay run --tasks T`. bench_mc.py --both measures it beside
lm-eval, two assay runs per lm-eval run, where the machine's drift between runs (+-1 s here) is as large as the
difference sought. This script runs only the two assay commands (as bench_mc.py runs them: subprocesses, fp32,
response cache off), alternating which goes first, for `--rounds` pairs per task, and prints per task the mean
whole-process and scoring-phase times of each and the mean paired difference (lm: - built-in) with its 95%
confidence interval (Student's t over the pairs). Both runs of a pair must forward the same tokens and score
the same accuracy, or the script says so and fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_mc import Side, common_options, prepared, run_assay  # noqa: E402


def interval(diffs: Sequence[float]) -> tuple[float, float]:
    """Mean of the paired differences and the half-width of its 95% confidence interval."""
    from scipy import stats

    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, float("inf")
    half = float(stats.t.ppf(0.975, len(diffs) - 1)) * statistics.stdev(diffs) / len(diffs) ** 0.5
    return mean, half


def verdict(mean: float, half: float) -> str:
    if mean + half <= 0:
        return "lm: faster"
    if mean - half <= 0:
        return "no difference measurable"
    return "lm: slower"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_options(parser, 5, "pairs per task (built-in and lm:, alternating which goes first)")
    args = parser.parse_args(argv)
    tasks, model_dir, env = prepared(args)
    print(f"model {model_dir}, fp32 CPU, first {args.limit} rows, batch {args.batch_size}, {args.rounds} pairs "
          f"per task, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    ok = True
    with tempfile.TemporaryDirectory(prefix="assay-lm-vs-builtin-") as tmp:
        for task in tasks:
            pairs: list[tuple[Side, Side]] = []
            for round_no in range(args.rounds):
                work = Path(tmp) / f"{task}-{round_no}"
                work.mkdir()
                names = [task, f"lm:{task}"] if round_no % 2 == 0 else [f"lm:{task}", task]
                sides = {name: run_assay(name, model_dir, work, args, env) for name in names}
                built, lm = sides[task], sides[f"lm:{task}"]
                print(f"  {task:28} round {round_no + 1}: built-in {built.wall:5.1f} s (scoring {built.scoring:5.1f}"
                      f" s)  lm: {lm.wall:5.1f} s (scoring {lm.scoring:5.1f} s)  {' then '.join(names)}",
                      flush=True)  # fmt: skip
                if (built.tokens, built.acc) != (lm.tokens, lm.acc):
                    print(f"    {task}: built-in and lm: differ (tokens {built.tokens}/{lm.tokens}, "
                          f"acc {built.acc}/{lm.acc})")  # fmt: skip
                    ok = False
                pairs.append((built, lm))
            for kind in ("wall", "scoring"):
                mean, half = interval([getattr(lm, kind) - getattr(b, kind) for b, lm in pairs])
                b_mean = statistics.fmean(getattr(b, kind) for b, _ in pairs)
                lm_mean = statistics.fmean(getattr(lm, kind) for _, lm in pairs)
                print(f"{task:28} {kind:8} built-in {b_mean:6.2f} s  lm: {lm_mean:6.2f} s  lm: - built-in "
                      f"{mean:+.2f} s +- {half:.2f} (95%)  {verdict(mean, half)}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
