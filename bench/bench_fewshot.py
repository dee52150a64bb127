"""MMLU-format 5-shot scoring: assay vs lm-evaluation-harness 0.4.13 (hf backend), side by side in one run.

    python bench/bench_fewshot.py [--tasks mmlu_high_school_geography,mmlu_college_biology,
        mmlu_high_school_world_history] [--limit 100] [--batch-size 8] [--rounds 1]
        [--data-dir ../shared/data] [--model-dir DIR] [--json FILE]

Each tool runs once per round as its own process, on all the tasks, with the same model folder (default: the
one `assay models path smollm2-135m` prints), fp32 on CPU, the same first N rows and batch size, 5 shots:

    lm_eval --model hf --model_args pretrained=DIR,dtype=float32 --tasks T1,T2,T3 --include_path TMP
            --num_fewshot 5 --limit N --batch_size 8 --device cpu --log_samples --output_path OUT
    assay run --model hf --model-args pretrained=DIR,dtype=float32 --tasks T1,T2,T3 --num-fewshot 5
              --fewshot-split test --limit N --batch-size 8 --no-cache

The data folder has no MMLU dev split, so both draw the shots first-n from the evaluated (test) split, leaving
each row out of its own block: lm-eval through its own YAML given `fewshot_split: test` (bench/lmeval_local.py),
assay through `--fewshot-split test`. The order of the two processes alternates per round.

Printed per task: rows, max |dLL| over every choice of every row, rows whose predicted answer differs, both
accuracies, and the tokens each tool forwarded (lm-eval: distinct inputs; assay: after sharing prefixes).
Then, over all tasks, each tool's whole-process wall time, scoring phase, tokens/s in that phase, and the
ratios lm-eval / assay. Exit 1 unless every dLL <= 1e-3 nats, every answer agrees, and the whole-process
ratio is >= --target (default 4).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_mc import _model_dir, _timed, in_turn  # noqa: E402
from lmeval_local import lmeval_tasks  # noqa: E402

BIN = Path(sys.executable).parent
TASKS = "mmlu_high_school_geography,mmlu_college_biology,mmlu_high_school_world_history"


@dataclass
class Run:
    """One tool's run over all tasks: wall and scoring time, tokens forwarded, per-row loglikelihoods."""

    wall: float
    scoring: float
    tokens: int
    lls: dict[str, dict[int, list[float]]] = field(default_factory=dict)  # task -> row -> per-choice

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.scoring if self.scoring else 0.0


def run_lmeval(model_dir: Path, tasks: Sequence[str], include: Path, work: Path, args: Any,
               env: dict[str, str]) -> Run:  # fmt: skip
    """lm-eval's CLI (instrumented by lmeval_local.py) on all tasks; its samples and figures."""
    stats_file, out = work / "lmeval_stats.json", work / "lmeval"
    cmd = [
        sys.executable, str(HERE / "lmeval_local.py"), str(stats_file),
        "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--tasks", ",".join(tasks),
        "--include_path", str(include), "--num_fewshot", str(args.num_fewshot), "--limit", str(args.limit),
        "--batch_size", str(args.batch_size), "--device", "cpu", "--log_samples", "--output_path", str(out),
    ]  # fmt: skip
    wall = _timed(cmd, env)
    stats = json.loads(stats_file.read_text())
    run = Run(wall, stats["seconds_loglikelihood"], int(stats["forward_tokens"]))
    for task in tasks:
        rows = next(out.rglob(f"samples_{task}_*.jsonl")).read_text(encoding="utf-8").splitlines()
        run.lls[task] = {
            int(s["doc_id"]): [float(r[0][0]) for r in s["resps"]] for s in map(json.loads, rows) if s
        }  # fmt: skip
    return run


def run_assay(model_dir: Path, tasks: Sequence[str], work: Path, args: Any, env: dict[str, str]) -> Run:
    """`assay run` on all tasks, response cache off; its samples and figures (summary.json stats)."""
    out = work / "assay"
    cmd = [
        str(BIN / "assay"), "run", "--model", "hf", "--model-args", f"pretrained={model_dir},dtype=float32",
        "--tasks", ",".join(tasks), "--num-fewshot", str(args.num_fewshot), "--fewshot-split", "test",
        "--limit", str(args.limit), "--batch-size", str(args.batch_size), "--no-cache",
        "--data-dir", str(args.data_dir), "--output", str(out), "--leaderboard", str(out / "lb.csv"), "-q",
    ]  # fmt: skip
    wall = _timed(cmd, env)
    run_dir = next(out.glob("*/summary.json")).parent
    stats = next(iter(json.loads((run_dir / "summary.json").read_text())["stats"].values()))
    run = Run(wall, stats["seconds_loglikelihood"], int(stats["forward_tokens"]))
    for task in tasks:
        path = next((run_dir / "samples").glob(f"*_{task}.jsonl"))
        by_row: dict[int, list[float]] = {}
        for row in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            # sample_id is <task>/<split>/<row index>-<content hash>
            by_row[int(row["sample_id"].rsplit("/", 1)[1].split("-", 1)[0])] = [float(x) for x in row["loglikelihoods"]]
        run.lls[task] = by_row
    return run


@dataclass
class TaskParity:
    task: str
    rows: int
    max_dll: float
    answers_differ: int
    acc_lmeval: float
    acc_assay: float


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: values[i])


def compare(task: str, ref: dict[int, list[float]], ours: dict[int, list[float]], gold: dict[int, int]) -> TaskParity:
    """Per-choice loglikelihood differences and predicted answers of one task."""
    common = sorted(set(ref) & set(ours))
    missing = len(set(ref) ^ set(ours))
    max_dll = max((abs(a - b) for i in common for a, b in zip(ref[i], ours[i], strict=True)), default=0.0)
    differ = missing + sum(_argmax(ref[i]) != _argmax(ours[i]) or len(ref[i]) != len(ours[i]) for i in common)
    acc_ref = sum(_argmax(ref[i]) == gold[i] for i in ref) / max(len(ref), 1)
    acc_ours = sum(_argmax(ours[i]) == gold[i] for i in ours) / max(len(ours), 1)
    return TaskParity(task, len(common), max_dll, differ, acc_ref, acc_ours)


def gold_answers(data_dir: Path, task: str, limit: int) -> dict[int, int]:
    """Row index -> gold choice of an mmlu subject's first `limit` rows (file order, as both tools read)."""
    subject, gold = task.removeprefix("mmlu_"), {}
    with (data_dir / "cais/mmlu/all/test.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if row.get("subject") == subject and len(gold) < limit:
                gold[len(gold)] = int(row["answer"])
    return gold


def report(ref: Run, ours: Run, tasks: Sequence[str], data_dir: Path, limit: int, label: str) -> tuple[bool, float]:
    """Print one round's table; (parity holds, whole-process ratio)."""
    print(f"\n{label}")
    print(f"{'task':34} {'rows':>5} {'max|dLL|':>10} {'answers differ':>15} {'acc lm-eval/assay':>18}")
    parity = True
    for task in tasks:
        r = compare(task, ref.lls[task], ours.lls[task], gold_answers(data_dir, task, limit))
        parity = parity and r.max_dll <= 1e-3 and r.answers_differ == 0 and r.rows > 0
        print(f"{task:34} {r.rows:>5} {r.max_dll:>10.2e} {r.answers_differ:>15} {r.acc_lmeval:>9.3f}/{r.acc_assay:.3f}")
    ratio = ref.wall / ours.wall
    print(f"{'':34} {'wall':>8} {'scoring':>9} {'tokens':>9} {'tokens/s':>9}")
    for name, run in (("lm-eval", ref), ("assay", ours)):
        print(f"{name:34} {run.wall:>7.1f}s {run.scoring:>8.1f}s {run.tokens:>9,} {run.tokens_per_s:>9.0f}")
    speed = ours.tokens_per_s / max(ref.tokens_per_s, 1e-9)
    print(f"{'ratio lm-eval / assay':34} {ratio:>7.2f}x {ref.scoring / ours.scoring:>8.2f}x "
          f"{ref.tokens / max(ours.tokens, 1):>8.2f}x {speed:>8.2f}x")  # fmt: skip
    return parity, ratio


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=TASKS)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--num-fewshot", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--assay-first", action="store_true", help="assay runs first in odd rounds, not even ones")
    parser.add_argument("--target", type=float, default=4.0, help="least whole-process ratio lm-eval / assay")
    parser.add_argument("--data-dir", default=os.environ.get("ASSAY_DATA_DIR", "../shared/data"))
    parser.add_argument("--model-dir", default=None, help="HF model folder (default: smollm2-135m's)")
    parser.add_argument("--json", default=None, help="also write each round's figures to this file")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    args.data_dir = str(data_dir)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    model_dir = _model_dir(args.model_dir)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"model {model_dir}, fp32 CPU, {args.num_fewshot}-shot, first {args.limit} rows of {', '.join(tasks)}, "
          f"batch {args.batch_size}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    ok, saved = True, []
    with tempfile.TemporaryDirectory(prefix="assay-fewshot-") as tmp, lmeval_tasks(tasks, data_dir, "test") as inc:
        for round_no in range(args.rounds):
            work = Path(tmp) / f"r{round_no}"
            work.mkdir()
            ref, ours, label = in_turn(
                round_no, partial(run_lmeval, model_dir, tasks, inc, work, args, env),
                partial(run_assay, model_dir, tasks, work, args, env), args.assay_first,
            )  # fmt: skip
            parity, ratio = report(ref, ours, tasks, data_dir, args.limit, label)
            ok = ok and parity and ratio >= args.target
            saved.append({"round": round_no + 1, "parity": parity, "wall_ratio": ratio,
                          "lmeval": {k: v for k, v in vars(ref).items() if k != "lls"},
                          "assay": {k: v for k, v in vars(ours).items() if k != "lls"}})  # fmt: skip
            if args.json:
                Path(args.json).write_text(json.dumps(saved, indent=2), encoding="utf-8")
    print(f"\n{'targets met' if ok else 'targets NOT met'}: dLL <= 1e-3 nats, the same answers, "
          f"whole-process ratio >= {args.target:g}x")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
