"""Greedy-generation parity of assay with lm-evaluation-harness (hf backend) on GSM8K chain-of-thought.

    python bench/parity_generate.py [--limit 3] [--max-tokens 64] [--batch-size 1]
        [--data-dir ../shared/data] [--model-dir DIR] [--json FILE]

lm-eval's `gsm8k_cot` (8 fixed exemplars, greedy until "Q:") is assay's `gsm8k`. Both run in-process on the
same model folder (default: the one `assay models path smollm2-135m` prints), fp32 on CPU, the first N rows of
the local GSM8K test file, at most --max-tokens new tokens (lm-eval's `max_gen_toks`, assay's `max_tokens`):
lm-eval through `simple_evaluate(log_samples=True)` on bench/lmeval_local.py's YAML, assay through
`assay.runner.run_evaluation` with the cache off. Exit 1 unless every row's generated text is identical.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from parity_lmeval import _model_dir  # noqa: E402


def assay_texts(model_dir: Path, limit: int, max_tokens: int, batch: int, data_dir: Path, out: Path) -> dict[int, str]:
    """Row index -> assay's generated text (cache off)."""
    from assay.config import ModelSpec, RunConfig
    from assay.runner import run_evaluation

    config = RunConfig(
        models=(ModelSpec(name="parity", model="hf", args={"pretrained": str(model_dir), "dtype": "float32"}),),
        tasks=("gsm8k",), limit=limit, batch_size=batch, data_dir=str(data_dir), gen_kwargs={"max_tokens": max_tokens},
        output=str(out / "runs"), leaderboard=str(out / "leaderboard.csv"), use_cache=False,
    )  # fmt: skip
    _, run_dir = run_evaluation(config)
    texts = {}
    for line in (run_dir / "samples" / "parity_gsm8k.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts[int(row["sample_id"].rsplit("/", 1)[1].split("-", 1)[0])] = row["outputs"][0]
    return texts


def lmeval_texts(model_dir: Path, limit: int, max_tokens: int, batch: int, data_dir: Path) -> dict[int, str]:
    """doc_id -> lm-eval's generated text."""
    import lm_eval
    from lm_eval.tasks import TaskManager
    from lmeval_local import lmeval_tasks

    with lmeval_tasks(["gsm8k_cot"], data_dir) as folder:
        result = lm_eval.simple_evaluate(
            model="hf", model_args={"pretrained": str(model_dir), "dtype": "float32"}, tasks=["gsm8k_cot"],
            limit=limit, batch_size=batch, device="cpu", gen_kwargs={"max_gen_toks": max_tokens},
            task_manager=TaskManager(include_path=str(folder), include_defaults=False), log_samples=True,
        )  # fmt: skip
    assert result is not None
    return {int(s["doc_id"]): s["resps"][0][0] for s in result["samples"]["gsm8k_cot"]}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--data-dir", default=os.environ.get("ASSAY_DATA_DIR", "../shared/data"))
    parser.add_argument("--model-dir", default=None, help="HF model folder (default: smollm2-135m's)")
    parser.add_argument("--json", default=None, help="also write both tools' texts to this file")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data_dir, model_dir = Path(args.data_dir).resolve(), _model_dir(args.model_dir)
    common = (model_dir, args.limit, args.max_tokens, args.batch_size, data_dir)
    with tempfile.TemporaryDirectory(prefix="assay-parity-gen-") as tmp:
        ours = assay_texts(*common, Path(tmp))
    ref = lmeval_texts(*common)
    same = [i for i in sorted(ref) if ours.get(i) == ref[i]]
    for i in sorted(set(ref) | set(ours)):
        mark = "same" if i in same else "DIFFERENT"
        print(f"row {i}: {mark}\n  lm-eval {ref.get(i)!r}\n  assay   {ours.get(i)!r}")
    if args.json:
        Path(args.json).write_text(json.dumps({"assay": ours, "lmeval": ref}, indent=2), encoding="utf-8")
    ok = len(same) == len(ref) == len(ours) == args.limit
    print(f"{'PASS' if ok else 'FAIL'}: {len(same)}/{len(ref)} greedy texts identical "
          f"(gsm8k, {args.max_tokens} new tokens at most, batch {args.batch_size})")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
