"""Issue 24's command, `lm_eval` vs `assay lm-eval`, whole process, side by side on the same local rows.

    lm_eval --model hf --model_args pretrained=DIR,dtype=D --tasks mmlu,hellaswag,arc_easy --batch_size 8 \\
        --output_path OUT --limit 20 --device cpu --log_samples --include_path LOCAL_YAMLS

is run once by lm-eval 0.4.13's own CLI and once by `assay lm-eval` with the same arguments, in float32 and in
bfloat16 (both read the data folder's rows through --include_path YAMLs that include lm-eval's own task files,
see lmeval_local.py). Printed per dtype: both wall times and the ratio; every metric's largest difference
(float32: all must be within 1e-6, and n-samples equal); over the samples files, the largest per-sample
loglikelihood difference and the share of documents whose answer (the highest-loglikelihood choice) is the same.

    .venv/bin/python bench/bench_lmeval_cli.py                                  # the full case (slow on 2 cores)
    .venv/bin/python bench/bench_lmeval_cli.py --tasks arc_easy,hellaswag --limit 10 --dtypes float32
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lmeval_local import lmeval_tasks  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MMLU_SUBJECTS = "cais/mmlu/all/test.jsonl"


def _local_names(tasks: list[str], data_dir: Path) -> list[str]:
    """The local YAMLs to write: mmlu expands to its 57 subjects (its group YAML then picks them up)."""
    out: list[str] = []
    for task in tasks:
        if task == "mmlu":
            rows = (json.loads(line) for line in (data_dir / MMLU_SUBJECTS).open(encoding="utf-8"))
            out.extend(sorted({f"mmlu_{r['subject']}" for r in rows}))
        else:
            out.append(task)
    return out


def _run(cmd: list[str], cwd: Path) -> float:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TQDM_DISABLE": "1"}
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - started


def _read(out: Path) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
    (results,) = sorted(out.glob("*/results_*.json"))
    samples = {}
    for path in sorted(out.glob("*/samples_*.jsonl")):
        task = path.name.removeprefix("samples_").rsplit("_", 1)[0]
        samples[task] = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return json.loads(results.read_text(encoding="utf-8")), samples


def compare(theirs: Path, ours: Path) -> dict[str, Any]:
    """Largest metric difference, same keys and n-samples, largest loglikelihood difference, identical answers."""
    (a, a_samples), (b, b_samples) = _read(theirs), _read(ours)
    metric_diff = 0.0
    for task, values in a["results"].items():
        for key, value in values.items():
            if isinstance(value, int | float) and not isinstance(value, bool) and "stderr" not in key:
                metric_diff = max(metric_diff, abs(float(value) - float(b["results"][task][key])))
    ll_diff, same, total = 0.0, 0, 0
    for task, rows in a_samples.items():
        by_doc = {(r["doc_id"], r["filter"]): r for r in b_samples.get(task, [])}
        for row in rows:
            other = by_doc[(row["doc_id"], row["filter"])]
            lls = [float(p[0]) for p in row["filtered_resps"]]
            ours_lls = [float(p[0]) for p in other["filtered_resps"]]
            ll_diff = max([ll_diff, *(abs(x - y) for x, y in zip(lls, ours_lls, strict=True))])
            same += lls.index(max(lls)) == ours_lls.index(max(ours_lls))
            total += 1
    return {"same_keys": list(a) == list(b), "same_n_samples": a["n-samples"] == b["n-samples"],
            "max_metric_diff": metric_diff, "max_ll_diff": ll_diff, "identical_answers": f"{same}/{total}"}  # fmt: skip


def bench(model_dir: str, tasks: list[str], limit: int, dtype: str, data_dir: Path) -> None:
    with (
        tempfile.TemporaryDirectory(prefix="bench-lmeval-cli-") as tmp,
        lmeval_tasks(_local_names(tasks, data_dir), data_dir) as include,
    ):
        work = Path(tmp)
        for path in include.glob("*.yaml"):  # lmeval_local writes JSON; assay tells lm-eval YAML by its `key:` lines
            path.write_text(yaml.safe_dump(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
        args = ["--model", "hf", "--model_args", f"pretrained={model_dir},dtype={dtype}", "--tasks", ",".join(tasks),
                "--batch_size", "8", "--limit", str(limit), "--device", "cpu", "--log_samples",
                "--include_path", str(include)]  # fmt: skip
        lm_s = _run([sys.executable, "-m", "lm_eval", *args, "--output_path", str(work / "lm")], work)
        assay = [str(REPO / ".venv/bin/assay"), "lm-eval", *args, "--output_path", str(work / "assay")]
        assay_s = _run(assay, work)
        print(f"{dtype}: lm_eval {lm_s:.1f} s, assay lm-eval {assay_s:.1f} s, ratio {lm_s / assay_s:.2f}x")
        print(f"{dtype}: {json.dumps(compare(work / 'lm', work / 'assay'))}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="mmlu,hellaswag,arc_easy")
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--data-dir", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--model-dir", default=None, help="HF folder (default: the smollm2-135m alias's)")
    opts = parser.parse_args()
    if opts.model_dir is None:
        from assay.models.aliases import hf_folder

        opts.model_dir = str(hf_folder("smollm2-135m"))
    for dtype in opts.dtypes.split(","):
        bench(opts.model_dir, opts.tasks.split(","), opts.limit, dtype, Path(opts.data_dir))


if __name__ == "__main__":
    main()
