"""Greedy generation on GSM8K chain-of-thought: assay vs lm-evaluation-harness 0.4.13 (hf backend), one run.

    python bench/bench_gsm8k.py [--limit 20] [--batch-size 8] [--rounds 1] [--no-batch1] [--target 3]
        [--data-dir ../shared/data] [--model-dir DIR] [--json FILE]

lm-eval's `gsm8k_cot` (8 fixed exemplars, "Q: ...\\nA:", greedy until "Q:", 256 new tokens at most) is assay's
`gsm8k`. Both tools run as their own process on the same model folder (default: the one `assay models path
smollm2-135m` prints), fp32 on CPU, the same first N rows of ../shared/data's GSM8K test file, the same batch:

    lm_eval --model hf --model_args pretrained=DIR,dtype=float32 --tasks gsm8k_cot --include_path TMP
            --limit N --batch_size 8 --device cpu --log_samples --output_path OUT
    assay run --model hf --model-args pretrained=DIR,dtype=float32 --tasks gsm8k --limit N --batch-size 8
              --no-cache

The two processes alternate their order per round. lm-eval is also run once at batch 1 (not timed against
assay; --no-batch1 skips it): a row where lm-eval's own batch-1 and batch-8 texts differ sits on a near-tie
that padding's rounding tips, and is not counted against assay.

Printed: rows whose texts are identical (and which rows differ, with where lm-eval disagrees with itself), both
tools' strict and flexible exact-match scores, assay's decoding steps and ms per step beside the floor that
reading the weights once per step sets (weight bytes / memory bandwidth measured here, for information), each
tool's whole-process wall time and generation phase, and the ratios lm-eval / assay. Exit 1 unless every row
where lm-eval agrees with itself has assay's text, the scores are equal, and the whole-process ratio is >= --target.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
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
METRICS = {"strict-match": "exact_match_strict", "flexible-extract": "exact_match_flexible"}


@dataclass
class Run:
    """One tool's run: wall and generation time, per-row texts and scores, assay's decoding stats."""

    wall: float
    generating: float
    texts: dict[int, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)  # exact_match_strict / _flexible
    stats: dict[str, Any] = field(default_factory=dict)


def run_lmeval(model_dir: Path, include: Path, work: Path, args: Any, batch: int, env: dict[str, str]) -> Run:
    """lm-eval's CLI (instrumented by lmeval_local.py) on gsm8k_cot; its texts and scores."""
    stats_file, out = work / f"lmeval_b{batch}.json", work / f"lmeval_b{batch}"
    cmd = [
        sys.executable, str(HERE / "lmeval_local.py"), str(stats_file),
        "--model", "hf", "--model_args", f"pretrained={model_dir},dtype=float32", "--tasks", "gsm8k_cot",
        "--include_path", str(include), "--limit", str(args.limit), "--batch_size", str(batch),
        "--device", "cpu", "--log_samples", "--output_path", str(out),
    ]  # fmt: skip
    wall = _timed(cmd, env)
    run = Run(wall, json.loads(stats_file.read_text())["seconds_generate"])
    hits: dict[str, list[float]] = {}
    for line in next(out.rglob("samples_gsm8k_cot_*.jsonl")).read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        run.texts[int(sample["doc_id"])] = sample["resps"][0][0]
        hits.setdefault(METRICS[sample["filter"]], []).append(float(sample["exact_match"]))
    run.scores = {k: sum(v) / len(v) for k, v in hits.items()}
    return run


def run_assay(model_dir: Path, work: Path, args: Any, env: dict[str, str]) -> Run:
    """`assay run` on gsm8k, response cache off; its texts, scores and decoding stats."""
    out = work / "assay"
    cmd = [
        str(BIN / "assay"), "run", "--model", "hf", "--model-args", f"pretrained={model_dir},dtype=float32",
        "--tasks", "gsm8k", "--limit", str(args.limit), "--batch-size", str(args.batch_size), "--no-cache",
        "--data-dir", str(args.data_dir), "--output", str(out), "--leaderboard", str(out / "lb.csv"), "-q",
    ]  # fmt: skip
    wall = _timed(cmd, env)
    run_dir = next(out.glob("*/summary.json")).parent
    summary = json.loads((run_dir / "summary.json").read_text())
    stats = next(iter(summary["stats"].values()))
    run = Run(wall, stats["seconds_generate"], stats=stats)
    hits: dict[str, list[float]] = {}
    for row in map(json.loads, next((run_dir / "samples").glob("*_gsm8k.jsonl")).read_text().splitlines()):
        run.texts[int(row["sample_id"].rsplit("/", 1)[1].split("-", 1)[0])] = row["outputs"][0]
        for metric in METRICS.values():
            hits.setdefault(metric, []).append(float(row["scores"][metric]))
    run.scores = {k: sum(v) / len(v) for k, v in hits.items()}
    return run


def weight_floor_ms(model_dir: Path) -> tuple[float, float, float]:
    """(weight MB, memory bandwidth GB/s measured by copying a 256 MB tensor into another, best of 5, ms to read
    the weights once)."""
    import torch
    from safetensors import safe_open

    size = 0
    for path in model_dir.glob("*.safetensors"):
        with safe_open(str(path), "pt") as fh:
            for name in fh.keys():  # noqa: SIM118 (safe_open is not a mapping)
                t = fh.get_slice(name)
                n = 1
                for d in t.get_shape():
                    n *= d
                size += n * 4  # fp32, as both tools run
    src, dst = torch.ones(64 * 2**20), torch.zeros(64 * 2**20)  # 256 MB each, pages touched before timing
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - started)
    bandwidth = 2 * src.numel() * 4 / best  # read + write
    return size / 1e6, bandwidth / 1e9, 1e3 * size / bandwidth


def matmul_floor_ms(model_dir: Path, batch: int) -> float:
    """ms for one decoding step's matrix products alone: every linear layer of the model (the output head
    included) applied once to `batch` one-token rows, fp32, best of 5. Weights of this size do not stay in the
    caches, so this is what streaming them through the matrix kernel costs here, attention and the rest left out."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    inputs = {m.in_features: torch.randn(batch, m.in_features) for m in linears}
    best = float("inf")
    with torch.inference_mode():
        for _ in range(5):
            started = time.perf_counter()
            for m in linears:
                m(inputs[m.in_features])
            best = min(best, time.perf_counter() - started)
    return 1e3 * best


def report(
    ref: Run, ours: Run, ref1: Run | None, floor: tuple[float, float, float, float], label: str
) -> tuple[bool, float]:
    """Print one round; (texts and scores agree, whole-process ratio)."""
    print(f"\n{label}")
    rows = sorted(ref.texts)
    same = [i for i in rows if ours.texts.get(i) == ref.texts[i]]
    unsure = {i for i in rows if ref1 is not None and ref1.texts.get(i) != ref.texts[i]}
    differ = [i for i in rows if i not in same]
    print(f"identical texts: {len(same)}/{len(rows)}" + (f"; differ on rows {differ}" if differ else ""))
    if ref1 is not None:
        print(f"lm-eval batch 1 vs batch {ref.stats.get('batch', '')}: differ on rows {sorted(unsure) or 'none'}")
    for i in differ[:3]:
        print(f"  row {i}:\n    lm-eval {ref.texts[i][:300]!r}\n    assay   {ours.texts.get(i, '')[:300]!r}")
    for metric in METRICS.values():
        print(f"{metric:22} lm-eval {ref.scores.get(metric, float('nan')):.3f}  assay {ours.scores.get(metric, 0):.3f}")
    steps, seconds = ours.stats.get("decode_steps", 0), ours.stats.get("seconds_decode", 0.0)
    if steps:
        mb, gbs, floor_ms, matmul_ms = floor
        print(f"assay decoding: {steps} steps, {1e3 * seconds / steps:.1f} ms per step (weights {mb:.0f} MB at "
              f"{gbs:.1f} GB/s copy bandwidth measured here: {floor_ms:.1f} ms per step to read them once; the "
              f"step's matrix products alone, at batch {ref.stats.get('batch', '')}: {matmul_ms:.1f} ms)")  # fmt: skip
    ratio = ref.wall / ours.wall
    phase = ref.generating / ours.generating
    print(f"whole process: lm-eval {ref.wall:.1f} s, assay {ours.wall:.1f} s, ratio {ratio:.2f}x; generation "
          f"phase: {ref.generating:.1f} s vs {ours.generating:.1f} s, {phase:.2f}x")  # fmt: skip
    scores_equal = all(abs(ref.scores.get(m, -1) - ours.scores.get(m, -2)) < 1e-9 for m in METRICS.values())
    return scores_equal and all(i in unsure for i in differ), ratio


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--assay-first", action="store_true", help="assay runs first in odd rounds, not even ones")
    parser.add_argument("--no-batch1", action="store_true", help="skip lm-eval's batch-1 run")
    parser.add_argument("--target", type=float, default=3.0, help="least whole-process ratio lm-eval / assay")
    parser.add_argument("--data-dir", default=os.environ.get("ASSAY_DATA_DIR", "../shared/data"))
    parser.add_argument("--model-dir", default=None, help="HF model folder (default: smollm2-135m's)")
    parser.add_argument("--json", default=None, help="also write each round's figures to this file")
    args = parser.parse_args(argv)
    data_dir = Path(args.data_dir).resolve()
    args.data_dir = str(data_dir)
    model_dir = _model_dir(args.model_dir)
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    print(f"model {model_dir}, fp32 CPU, gsm8k (lm-eval gsm8k_cot), first {args.limit} rows, greedy, 256 new "
          f"tokens max, batch {args.batch_size}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    floor = (*weight_floor_ms(model_dir), matmul_floor_ms(model_dir, args.batch_size))
    ok, saved = True, []
    with tempfile.TemporaryDirectory(prefix="assay-gsm8k-") as tmp, lmeval_tasks(["gsm8k_cot"], data_dir) as inc:
        ref1 = None
        if not args.no_batch1:
            (Path(tmp) / "b1").mkdir()
            ref1 = run_lmeval(model_dir, inc, Path(tmp) / "b1", args, 1, env)
        for round_no in range(args.rounds):
            work = Path(tmp) / f"r{round_no}"
            work.mkdir()
            ref, ours, label = in_turn(
                round_no, partial(run_lmeval, model_dir, inc, work, args, args.batch_size, env),
                partial(run_assay, model_dir, work, args, env), args.assay_first,
            )  # fmt: skip
            ref.stats["batch"] = args.batch_size
            agree, ratio = report(ref, ours, ref1, floor, label)
            ok = ok and agree and ratio >= args.target
            saved.append({"round": round_no + 1, "agree": agree, "wall_ratio": ratio,
                          "lmeval": vars(ref), "assay": vars(ours)})  # fmt: skip
            if args.json:
                Path(args.json).write_text(json.dumps(saved, indent=2), encoding="utf-8")
    print(f"\n{'targets met' if ok else 'targets NOT met'}: identical texts where lm-eval agrees with itself, the "
          f"same strict/flexible scores, whole-process ratio >= {args.target:g}x")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
