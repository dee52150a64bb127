"""The in-process llama.cpp backend (xllamacpp) against the HF backend on the same weights, in one run.

    python bench/bench_llamacpp.py [--questions 15] [--data-dir ../shared/data]

Scores the 4 choices of the first ARC-Easy questions with both backends on SmolLM2-135M-Instruct: the HF
backend (float32), llama.cpp on the GGUF's weights de-quantized to float32 (precision=f32), and llama.cpp on
the quantized weights as stored (precision=native). Prints each side's wall time and, per llama.cpp side, the
mean and largest |difference| of the continuation log-probabilities and how many is_greedy flags agree.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from assay.models.aliases import hf_folder
from assay.models.hf import HFModel
from assay.models.llamacpp import LlamaCppModel
from assay.records import LoglikelihoodRequest
from assay.testing.llamaserver import smollm2_gguf


def arc_requests(data_dir: Path, questions: int) -> list[LoglikelihoodRequest]:
    path = data_dir / "allenai" / "ai2_arc" / "ARC-Easy" / "test.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if len(r["choices"]["text"]) == 4][:questions]
    return [
        LoglikelihoodRequest(context=f"Question: {r['question']}\nAnswer:", continuation=" " + choice)
        for r in rows
        for choice in r["choices"]["text"]
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=15)
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    args = parser.parse_args()
    requests = arc_requests(args.data_dir, args.questions)
    hf = HFModel(name="hf", pretrained=str(hf_folder("smollm2-135m")), dtype="float32", batch_size=8)
    start = time.perf_counter()
    reference = hf.loglikelihood(requests)
    print(f"hf (float32): {len(requests)} continuations in {time.perf_counter() - start:.1f} s")
    hf.close()
    for precision in ("f32", "native"):
        model = LlamaCppModel(path=str(smollm2_gguf()), n_ctx=1024, precision=precision)
        start = time.perf_counter()
        ours = model.loglikelihood(requests)
        wall = time.perf_counter() - start
        model.close()
        diffs = [abs(a.logprob - b.logprob) for a, b in zip(ours, reference, strict=True)]
        greedy = sum(a.is_greedy == b.is_greedy for a, b in zip(ours, reference, strict=True))
        print(f"llamacpp precision={precision}: {wall:.1f} s; |diff| mean {statistics.mean(diffs):.4f}, "
              f"max {max(diffs):.4f} nats; is_greedy agrees {greedy}/{len(requests)}")  # fmt: skip


if __name__ == "__main__":
    main()
