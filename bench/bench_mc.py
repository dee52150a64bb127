"""Multiple-choice speed: assay vs lm-evaluation-harness 0.4.13 (hf backend), side by side in one run.

    python bench/bench_mc.py [--tasks arc_easy,hellaswag,mmlu_high_school_geography] [--limit 200]
        [--batch-size 8] [--rounds 1] [--data-dir ../shared/data] [--model-dir DIR] [--json FILE]

For each task, both tools run as their own process on the same model folder (default: the one
`assay models path smollm2-135m` prints), fp32 on CPU, the same first N rows and the same batch size:

    lm_eval --model hf --model_args pretrained=DIR,dtype=float32 --tasks T --include_path TMP
            --limit N --batch_size 8 --device cpu
    assay run --model hf --model-args pretrained=DIR,dtype=float32 --tasks T --limit N --batch-size 8
              --no-cache

lm-eval reads the local files through the YAMLs of bench/lmeval_local.py, and runs through that file's
`__main__`, which is lm-eval's own CLI with timers around its loglikelihood phase and counters of the
tokens it forwards. assay's scoring time and tokens come from the run's summary.json (`stats`). The two
processes of a task run back to back, in alternating order, so a change in machine load hits both.

Printed per task: whole-process wall time of each and the ratio (lm-eval / assay), the scoring phase alone
and its ratio, tokens forwarded (without and with padding), and both accuracies (they must agree).
Targets (SmolLM2-135M fp32, CPU): >= 2x on arc_easy, >= 1.5x on hellaswag, >= 1x on the mmlu subject.
With --lm, assay runs lm-eval's own YAML of each task (`--tasks lm:T`, lm-eval's code building the requests
and scoring): the same targets hold, since the requests reach the same packed scorer. With --both, assay runs
the built-in task and lm-eval's YAML of it one after the other, each against the same lm-eval run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lmeval_local import lmeval_tasks  # noqa: E402

BIN = Path(sys.executable).parent
R = TypeVar("R")
S = TypeVar("S")
TARGETS = {"arc_easy": 2.0, "hellaswag": 1.5}  # whole process and scoring phase; mmlu_*: 1.0


@dataclass
class Side:
    """One tool's figures on one task."""

    wall: float
    scoring: float
    tokens: int
    padded: int
    acc: float


@dataclass
class TaskBench:
    task: str
    lmeval: Side
    assay: Side

    @property
    def wall_ratio(self) -> float:
        return self.lmeval.wall / self.assay.wall

    @property
    def scoring_ratio(self) -> float:
        return self.lmeval.scoring / self.assay.scoring

    @property
    def target(self) -> float:
        return TARGETS.get(self.task.removeprefix("lm:"), 1.0)


def _timed(cmd: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}")
    return wall


def in_turn(round_no: int, ref: Callable[[], R], ours: Callable[[], S], assay_first: bool = False) -> tuple[R, S, str]:
    """Run lm-eval's side and assay's, lm-eval first in even rounds (odd ones with `assay_first`); (ref, ours, a
    label naming the round and the order)."""
    load = f"load average {os.getloadavg()[0]:.1f}"
    if (round_no + assay_first) % 2 == 0:
        first, second = ref(), ours()
        return first, second, f"round {round_no + 1} (lm-eval first), {load}"
    second_ours = ours()
    return ref(), second_ours, f"round {round_no + 1} (assay first), {load}"


def run_lmeval(task: str, model_dir: Path, include: Path, work: Path, args: Any, env: dict[str, str]) -> Side:
    """lm-eval's CLI as a subprocess (instrumented by lmeval_local.py); its figures."""
    stats_file, out = work / f"lmeval_{task}.json", work / f"lmeval_{task}"
    cmd = [
        sys.executable, str(HERE / "lmeval_local.py"), str(stats_file),
        "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--tasks", task,
        "--include_path", str(include), "--limit", str(args.limit), "--batch_size", str(args.batch_size),
        "--device", "cpu", "--output_path", str(out),
    ]  # fmt: skip
    wall = _timed(cmd, env)
    stats = json.loads(stats_file.read_text())
    results = json.loads(next(out.rglob("results_*.json")).read_text())["results"][task]
    tokens, padded = int(stats["forward_tokens"]), int(stats["padded_tokens"])
    return Side(wall, stats["seconds_loglikelihood"], tokens, padded, float(results["acc,none"]))


def run_assay(name: str, model_dir: Path, work: Path, args: Any, env: dict[str, str]) -> Side:
    """`assay run` of task `name` (a built-in or lm:TASK) as a subprocess, response cache off; its figures from
    summary.json."""
    out = work / f"assay_{name.replace(':', '_')}"
    cmd = [
        str(BIN / "assay"), "run", "--model", "hf", "--model-args", f"pretrained={model_dir},dtype=float32",
        "--tasks", name, "--limit", str(args.limit), "--batch-size", str(args.batch_size), "--no-cache",
        "--data-dir", str(args.data_dir), "--output", str(out), "--leaderboard", str(out / "lb.csv"), "-q",
    ]  # fmt: skip
    wall = _timed(cmd, env)
    summary = json.loads(next(out.glob("*/summary.json")).read_text())
    stats = next(iter(summary["stats"].values()))
    result = next(r for r in summary["results"] if r["task"] == name)
    acc = result["metrics"]["acc"]
    acc_value = acc["value"] if isinstance(acc, dict) else acc
    return Side(wall, stats["seconds_loglikelihood"], int(stats["forward_tokens"]),
                int(stats.get("padded_tokens", 0)), float(acc_value))  # fmt: skip


def assay_names(task: str, args: Any, round_no: int = 0) -> list[str]:
    """What assay runs for `task`: its built-in, lm-eval's YAML (--lm), or both, one after the other (--both;
    which goes first alternates by round, so neither always runs in the other's wake)."""
    if args.both:
        pair = [task, f"lm:{task}"]
        return pair if round_no % 2 == 0 else pair[::-1]
    return [f"lm:{task}" if args.lm else task]


def bench_task(task: str, lmeval_first: bool, model_dir: Path, include: Path, work: Path, args: Any,
               env: dict[str, str], round_no: int = 0) -> list[TaskBench]:  # fmt: skip
    """Both tools on one task, back to back, in the order given (with --both, assay's two runs follow each
    other, so lm-eval's one run is the reference of both)."""
    names = assay_names(task, args, round_no)
    if lmeval_first:
        ref = run_lmeval(task, model_dir, include, work, args, env)
        ours = [run_assay(name, model_dir, work, args, env) for name in names]
    else:
        ours = [run_assay(name, model_dir, work, args, env) for name in names]
        ref = run_lmeval(task, model_dir, include, work, args, env)
    return [TaskBench(name, ref, side) for name, side in zip(names, ours, strict=True)]


def _line(r: TaskBench) -> str:
    met = r.wall_ratio >= r.target and r.scoring_ratio >= r.target
    return (
        f"{r.task:28} {r.lmeval.wall:>11.1f}s {r.assay.wall:>6.1f}s {r.wall_ratio:>5.2f}x"
        f"  {r.lmeval.scoring:>14.1f}s {r.assay.scoring:>6.1f}s {r.scoring_ratio:>5.2f}x"
        f"  {r.lmeval.tokens:>10} ({r.lmeval.padded:>10}) {r.assay.tokens:>6} ({r.assay.padded:>7})"
        f"  {r.lmeval.acc:>8.3f}/{r.assay.acc:.3f}  >={r.target:g}x {'met' if met else 'NOT met'}"
    )


HEADER = (
    f"{'task':28} {'wall lm-eval':>12} {'assay':>7} {'ratio':>6}  {'scoring lm-eval':>15} {'assay':>7}"
    f" {'ratio':>6}  {'tokens lm-eval (padded)':>24} {'assay (padded)':>16}  {'acc lm-eval/assay':>17}  target"
)


def report(results: Sequence[TaskBench]) -> bool:
    """Print the table; True when every task meets its target on both ratios and the accuracies agree."""
    print(HEADER)
    ok = True
    for r in results:
        print(_line(r))
        ok = ok and r.wall_ratio >= r.target and r.scoring_ratio >= r.target
        if abs(r.lmeval.acc - r.assay.acc) > 1e-9:
            ok = False
            print(f"    accuracy differs on {r.task}: the two tools did not score the same way")
    return ok


def _save(results: Sequence[TaskBench], path: str | None) -> None:
    if path:
        rows = [{**asdict(r), "wall_ratio": r.wall_ratio, "scoring_ratio": r.scoring_ratio} for r in results]
        Path(path).write_text(json.dumps(rows, indent=2), encoding="utf-8")


def _model_dir(option: str | None) -> Path:
    if option:
        return Path(option)
    from assay.models.aliases import hf_folder

    return hf_folder("smollm2-135m")


def common_options(parser: argparse.ArgumentParser, rounds: int, rounds_help: str) -> None:
    """The options this script shares with bench_lm_vs_builtin.py."""
    parser.add_argument("--tasks", default="arc_easy,hellaswag,mmlu_high_school_geography")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=rounds, help=rounds_help)
    parser.add_argument("--data-dir", default=os.environ.get("ASSAY_DATA_DIR", "../shared/data"))
    parser.add_argument("--model-dir", default=None, help="HF model folder (default: smollm2-135m's)")


def prepared(args: Any) -> tuple[list[str], Path, dict[str, str]]:
    """(tasks, model folder, environment of the timed subprocesses) from the common options; resolves
    args.data_dir in place, so every subprocess gets the same absolute folder."""
    args.data_dir = str(Path(args.data_dir).resolve())
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return tasks, _model_dir(args.model_dir), env


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common_options(parser, 1, "repeat each pair; the table shows every round")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument("--lm", action="store_true",
                        help="assay runs lm-eval's own YAML of each task (lm:TASK) instead of its built-in one")
    parser.add_argument("--both", action="store_true",
                        help="assay runs its built-in task and lm-eval's YAML of it, against one lm-eval run")
    args = parser.parse_args(argv)
    tasks, model_dir, env = prepared(args)
    print(f"model {model_dir}, fp32 CPU, first {args.limit} rows, batch {args.batch_size}, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(HEADER)
    results: list[TaskBench] = []
    data_dir = Path(args.data_dir)
    with tempfile.TemporaryDirectory(prefix="assay-bench-") as tmp, lmeval_tasks(tasks, data_dir) as inc:
        work = Path(tmp)
        for round_no in range(args.rounds):
            (work / f"r{round_no}").mkdir()
            for i, task in enumerate(tasks):
                lmeval_first = (round_no + i) % 2 == 0  # alternate who goes first
                pair = bench_task(task, lmeval_first, model_dir, inc, work / f"r{round_no}", args, env, round_no)
                results.extend(pair)
                load = os.getloadavg()[0]
                for line in pair:
                    print(f"  {_line(line)}   (round {round_no + 1}, load average {load:.1f})", flush=True)
                _save(results, args.json)  # a long run that is stopped keeps what it measured
    print()
    ok = report(results)
    print("targets met" if ok else "targets NOT met (on this run)")
    if args.both:
        both_summary(results, tasks)
    return 0 if ok else 1


def both_summary(results: Sequence[TaskBench], tasks: Sequence[str]) -> None:
    """--both: per task, the whole-process and scoring ratios of the built-in and of lm-eval's YAML over the
    rounds (mean, min-max), and whether lm:'s mean is within the built-in's spread or above it."""
    print("\n--both: ratio to lm-eval over the rounds, mean (min-max); lm: must be at least the built-in's min")
    for task in tasks:
        cells = []
        verdict = True
        for kind in ("wall_ratio", "scoring_ratio"):
            mine = [getattr(r, kind) for r in results if r.task == task]
            theirs = [getattr(r, kind) for r in results if r.task == f"lm:{task}"]
            if not mine or not theirs:
                return
            verdict = verdict and sum(theirs) / len(theirs) >= min(mine)
            cells.append(f"{kind.split('_')[0]:7} built-in {_spread(mine)}  lm: {_spread(theirs)}")
        print(f"  {task:28} " + "   ".join(cells) + f"   {'as fast' if verdict else 'SLOWER'}")


def _spread(values: Sequence[float]) -> str:
    return f"{sum(values) / len(values):.2f}x ({min(values):.2f}-{max(values):.2f})"


if __name__ == "__main__":
    sys.exit(main())
