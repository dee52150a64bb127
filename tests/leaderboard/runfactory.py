"""Write run folders in the contract's layout from the real records, for tests of views, report and gate.

The runner writes the same files from the same records (RunRecord.to_json, SampleResult.to_json);
building them here lets these tests run in milliseconds without a model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from assay.leaderboard.store import append_rows, rows_from_record
from assay.records import MetricValue, ModelInfo, RunRecord, SampleResult, Score, TaskResult
from assay.runs.layout import samples_path, write_json_atomic, write_jsonl_atomic


def mc_samples(model: str, task: str, correct: Sequence[int], n_choices: int = 4) -> list[SampleResult]:
    """Multiple-choice sample results: sample i is right when correct[i] is 1 (target is always choice 0)."""
    out = []
    for i, ok in enumerate(correct):
        pred = 0 if ok else 1
        lls = tuple(-1.0 if c == pred else -2.0 - c for c in range(n_choices))
        out.append(
            SampleResult(
                sample_id=f"{task}/test/{i}-{i:08x}",
                task=task,
                model=model,
                prompt=f"Question {i} of {task}?",
                target=0,
                prediction=pred,
                choices=tuple(f"choice {c}" for c in range(n_choices)),
                loglikelihoods=lls,
                scores=(Score(metric="acc", value=float(ok)), Score(metric="acc_norm", value=float(ok))),
            )
        )
    return out


def _aggregate(model: str, task: str, samples: Sequence[SampleResult]) -> TaskResult:
    metrics = {}
    for name in ("acc", "acc_norm"):
        values = [s.score(name) or 0.0 for s in samples]
        mean = sum(values) / len(values)
        stderr = math.sqrt(mean * (1 - mean) / max(1, len(values) - 1))
        metrics[name] = MetricValue(value=mean, stderr=stderr, n=len(values), stderr_method="binomial")
    return TaskResult(
        model=model,
        task=task,
        metrics=metrics,
        n_samples=len(samples),
        dataset=f"test/{task}/default/test",
        dataset_sha256="0" * 64,
    )


def write_run(
    output: Path,
    run_id: str,
    created: str,
    results: Mapping[tuple[str, str], Sequence[int]],
    *,
    leaderboard: Path | None = None,
    seed: int = 1234,
) -> Path:
    """Write a finished run under `output` from {(model, task): per-sample correctness}; return its folder."""
    run_dir = output / run_id
    task_results = []
    models = sorted({m for m, _ in results})
    for (model, task), correct in results.items():
        samples = mc_samples(model, task, correct)
        write_jsonl_atomic(samples_path(run_dir, model, task), [s.to_json() for s in samples])
        task_results.append(_aggregate(model, task, samples))
    record = RunRecord(
        run_id=run_id,
        created=created,
        config={
            "models": [{"name": m, "model": "hf", "args": {}} for m in models],
            "seed": seed,
            "tasks": sorted({t for _, t in results}),
        },
        models=tuple(ModelInfo(name=m, backend="hf", args={}, fingerprint=f"fp-{m}") for m in models),
        results=tuple(task_results),
        environment={"python": "3.11"},
        stats={"requests_total": 10, "requests_computed": 10, "requests_cached": 0},
    )
    write_json_atomic(run_dir / "config.json", record.config)
    write_json_atomic(run_dir / "summary.json", record.to_json())
    write_json_atomic(run_dir / "metrics.json", record.metric_map())
    if leaderboard is not None:
        append_rows(rows_from_record(record), leaderboard)
    return run_dir
