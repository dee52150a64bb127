"""Per-sample parity of assay's multiple-choice scoring with lm-evaluation-harness (hf backend).

    python bench/parity_lmeval.py [--limit 100] [--batch-size 8]
        [--tasks arc_easy,hellaswag,winogrande,mmlu_high_school_geography]
        [--num-fewshot 0] [--fewshot-split SPLIT] [--data-dir ../shared/data] [--model-dir DIR] [--json FILE]

Both tools score the same model folder (default: the one `assay models path smollm2-135m` prints) on the
same rows: the first N of each task, read by lm-eval from the same local files through the YAMLs of
bench/lmeval_local.py. assay runs through `assay.runner.run_evaluation` with the cache off; lm-eval through
`lm_eval.simple_evaluate(log_samples=True)`. Samples are matched by row index; every choice's
loglikelihood must agree within --tolerance nats (default 1e-3) and every sample's acc and acc_norm
(i.e. the predicted choice under both rules) must be equal. Exit 1 on any mismatch.

With --num-fewshot 5 --fewshot-split test (mmlu subjects), both draw the shots first-n from the evaluated
split, each row left out of its own: lm-eval through its YAML given `fewshot_split: test`, assay through
its `fewshot_split` setting.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_TASKS = "arc_easy,hellaswag,winogrande,mmlu_high_school_geography"


@dataclass
class SampleView:
    """What both tools say about one row: per-choice loglikelihoods and the per-sample metrics."""

    lls: list[float]
    metrics: dict[str, float]
    text: str = ""  # a readable form of the first request, shown when the row disagrees


@dataclass
class TaskParity:
    task: str
    n_assay: int
    n_lmeval: int
    max_abs_diff: float = 0.0
    metric_mismatches: int = 0
    shape_mismatches: int = 0
    acc_assay: float = 0.0
    acc_lmeval: float = 0.0
    examples: list[str] = field(default_factory=list)

    def passed(self, tolerance: float) -> bool:
        return (
            self.n_assay == self.n_lmeval > 0
            and self.max_abs_diff <= tolerance
            and self.metric_mismatches == 0
            and self.shape_mismatches == 0
        )


def run_assay(model_dir: Path, tasks: Sequence[str], limit: int, batch_size: int, data_dir: Path,
              out: Path, num_fewshot: int = 0, fewshot_split: str | None = None,
              ) -> dict[str, dict[int, SampleView]]:  # fmt: skip
    """Score with assay's runner (no response cache); samples keyed by task and row index."""
    dtype = "float32"  # as lm-eval is asked below
    from assay.config import ModelSpec, RunConfig
    from assay.runner import run_evaluation

    config = RunConfig(
        models=(ModelSpec(name="parity", model="hf", args={"pretrained": str(model_dir), "dtype": dtype}),),
        tasks=tuple(tasks), limit=limit, num_fewshot=num_fewshot, fewshot_split=fewshot_split,
        batch_size=batch_size, data_dir=str(data_dir),
        output=str(out / "runs"), leaderboard=str(out / "leaderboard.csv"), use_cache=False,
    )  # fmt: skip
    _, run_dir = run_evaluation(config)
    views: dict[str, dict[int, SampleView]] = {}
    for task in tasks:
        rows = (run_dir / "samples" / f"parity_{task}.jsonl").read_text(encoding="utf-8").splitlines()
        by_index: dict[int, SampleView] = {}
        for line in rows:
            row = json.loads(line)
            # sample_id is <task>/<split>/<row index>-<content hash>
            index = int(row["sample_id"].rsplit("/", 1)[1].split("-", 1)[0])
            text = f"{row['prompt']!r} -> {row['choices'][0]!r}"
            by_index[index] = SampleView([float(x) for x in row["loglikelihoods"]], dict(row["scores"]), text)
        views[task] = by_index
    return views


def run_lmeval(model_dir: Path, tasks: Sequence[str], limit: int, batch_size: int, data_dir: Path,
               num_fewshot: int = 0, fewshot_split: str | None = None) -> dict[str, dict[int, SampleView]]:  # fmt: skip
    """Score with lm-eval in-process on the local YAMLs; samples keyed by task and doc_id."""
    import lm_eval
    from lm_eval.tasks import TaskManager
    from lmeval_local import lmeval_tasks

    with lmeval_tasks(tasks, data_dir, fewshot_split) as folder:
        manager = TaskManager(include_path=str(folder), include_defaults=False)
        result = lm_eval.simple_evaluate(
            model="hf", model_args={"pretrained": str(model_dir), "dtype": "float32"}, tasks=list(tasks),
            num_fewshot=num_fewshot, limit=limit, batch_size=batch_size, device="cpu", task_manager=manager,
            log_samples=True,
        )  # fmt: skip
    assert result is not None
    views: dict[str, dict[int, SampleView]] = {}
    for task in tasks:
        by_index: dict[int, SampleView] = {}
        for sample in result["samples"][task]:
            lls = [float(resp[0][0]) for resp in sample["resps"]]
            metrics = {m: float(sample[m]) for m in ("acc", "acc_norm") if m in sample}
            context, continuation = sample["arguments"][0][:2]
            by_index[int(sample["doc_id"])] = SampleView(lls, metrics, f"{context!r} -> {continuation!r}")
        views[task] = by_index
    return views


def compare(task: str, ours: dict[int, SampleView], ref: dict[int, SampleView]) -> TaskParity:
    """Row-by-row comparison of one task."""
    out = TaskParity(task, len(ours), len(ref))
    for index in sorted(set(ours) & set(ref)):
        a, b = ours[index], ref[index]
        if len(a.lls) != len(b.lls):
            out.shape_mismatches += 1
            out.examples.append(
                f"row {index}: {len(a.lls)} vs {len(b.lls)} choices\n  assay  {a.text}\n  lm-eval {b.text}"
            )
            continue
        diff = max(abs(x - y) for x, y in zip(a.lls, b.lls, strict=True))
        out.max_abs_diff = max(out.max_abs_diff, diff)
        shared = set(a.metrics) & set(b.metrics)
        if any(a.metrics[m] != b.metrics[m] for m in shared) or not shared:
            out.metric_mismatches += 1
            out.examples.append(f"row {index}: metrics {a.metrics} vs {b.metrics}")
        if diff > 1e-3 and len(out.examples) < 5:
            out.examples.append(f"row {index}: max diff {diff:.2e}\n  assay   {a.text}\n  lm-eval {b.text}")
    out.shape_mismatches += len(set(ours) ^ set(ref))
    out.acc_assay = _mean(v.metrics.get("acc", 0.0) for v in ours.values())
    out.acc_lmeval = _mean(v.metrics.get("acc", 0.0) for v in ref.values())
    return out


def _mean(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def _model_dir(option: str | None) -> Path:
    if option:
        return Path(option)
    from assay.models.aliases import hf_folder

    return hf_folder("smollm2-135m")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", default=DEFAULT_TASKS)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--data-dir", default=os.environ.get("ASSAY_DATA_DIR", "../shared/data"))
    parser.add_argument(
        "--model-dir", default=None, help="HF model folder (default: the smollm2-135m alias's)"
    )
    parser.add_argument(
        "--tolerance", type=float, default=1e-3, help="max |loglikelihood difference| in nats"
    )
    parser.add_argument("--num-fewshot", type=int, default=0)
    parser.add_argument("--fewshot-split", default=None, help="split the shots come from (both tools)")
    parser.add_argument("--json", default=None, help="also write the per-task results to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    data_dir = Path(args.data_dir).resolve()
    model_dir = _model_dir(args.model_dir)

    started = time.time()
    with tempfile.TemporaryDirectory(prefix="assay-parity-") as tmp:
        ours = run_assay(model_dir, tasks, args.limit, args.batch_size, data_dir, Path(tmp),
                         args.num_fewshot, args.fewshot_split)  # fmt: skip
    t_assay = time.time() - started
    ref = run_lmeval(model_dir, tasks, args.limit, args.batch_size, data_dir, args.num_fewshot, args.fewshot_split)
    t_lmeval = time.time() - started - t_assay

    results = [compare(t, ours[t], ref[t]) for t in tasks]
    print(f"\nmodel {model_dir}, first {args.limit} rows, batch {args.batch_size}, "
          f"assay {t_assay:.0f} s, lm-eval {t_lmeval:.0f} s (in-process, including loading)")  # fmt: skip
    print(f"{'task':32} {'rows':>9} {'max|dLL|':>10} {'metric mismatches':>18} {'acc assay/lm-eval':>18}")
    for r in results:
        bad = r.metric_mismatches + r.shape_mismatches
        print(f"{r.task:32} {r.n_assay:>4}/{r.n_lmeval:<4} {r.max_abs_diff:>10.2e} "
              f"{bad:>18} {r.acc_assay:>8.3f}/{r.acc_lmeval:.3f}")  # fmt: skip
        for line in r.examples[:5]:
            print("   ", line)
    ok = all(r.passed(args.tolerance) for r in results)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2), encoding="utf-8")
    verdict = "PASS" if ok else "FAIL"
    print(f"{verdict}: per-sample loglikelihoods within {args.tolerance:g} nats and the same "
          f"acc/acc_norm on every row of {', '.join(tasks)}")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
