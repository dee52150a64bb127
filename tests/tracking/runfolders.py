"""Run folders in the documented layout, written by the tests themselves (no model needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay.records import (
    MetricValue,
    ModelInfo,
    RunRecord,
    SampleResult,
    Score,
    TaskResult,
    stable_hash,
)
from assay.runs.layout import samples_path, write_json_atomic, write_jsonl_atomic


def write_run(
    root: Path,
    run_id: str = "20261123-120000-abc123",
    model: str = "smollm2-135m",
    tasks: tuple[str, ...] = ("arc_easy",),
    n: int = 10,
    accuracy: float = 0.6,
    fingerprint: str = "f00dfeedcafe0001",
    environment: dict[str, Any] | None = None,
    info: ModelInfo | None = None,
) -> Path:
    """A finished run of one model on `tasks`, with n samples each, `accuracy` of them right (`info`: the model
    as a real backend described it, else an hf model of that name and `fingerprint`)."""
    run_dir = root / run_id
    results = []
    for task in tasks:
        rows = [_sample(task, model, i, i < round(accuracy * n)) for i in range(n)]
        write_jsonl_atomic(samples_path(run_dir, model, task), [r.to_json() for r in rows])
        acc = sum(1 for r in rows if r.correct) / n
        stderr = (acc * (1 - acc) / (n - 1)) ** 0.5
        results.append(
            TaskResult(
                model=model,
                task=task,
                metrics={"acc": MetricValue(value=acc, stderr=stderr, n=n, stderr_method="binomial")},
                n_samples=n,
                dataset=f"allenai/ai2_arc/{task}/test",
                dataset_sha256=stable_hash([task, n], 64),
                task_version="1",
            )
        )
    config = {
        "models": [{"name": "", "model": model, "args": {}}],
        "tasks": list(tasks),
        "limit": n,
        "seed": 1234,
    }
    record = RunRecord(
        run_id=run_id,
        created="2026-11-23T12:00:00+00:00",
        config=config,
        models=(info or ModelInfo(name=model, backend="hf", args={"dtype": "float32"}, fingerprint=fingerprint),),
        results=tuple(results),
        environment=environment or {"python": "3.11.9", "packages": {"torch": "2.13.0", "assay": "0.1.0"}},
        git_sha="0123456789abcdef0123456789abcdef01234567",
        wall_seconds=12.5,
        stats={model: {"requests_total": 4 * n, "requests_computed": 4 * n, "requests_cached": 0}},
    )
    write_json_atomic(run_dir / "config.json", config)
    write_json_atomic(run_dir / "summary.json", record.to_json())
    write_json_atomic(run_dir / "metrics.json", record.metric_map())
    return run_dir


def _sample(task: str, model: str, index: int, right: bool) -> SampleResult:
    lls = (-1.0, -2.0, -3.0, -4.0) if right else (-2.0, -1.0, -3.0, -4.0)
    return SampleResult(
        sample_id=f"{task}/test/{index}-{stable_hash(['row', index], 8)}",
        task=task,
        model=model,
        prompt=f"Question {index}?",
        target=0,
        prediction=0 if right else 1,
        scores=(Score(metric="acc", value=1.0 if right else 0.0),),
        choices=("A", "B", "C", "D"),
        loglikelihoods=lls,
    )


def read_json(path: Path) -> Any:
    """A file of the folder as raw JSON (tests that damage or edit a file on purpose)."""
    return json.loads(path.read_text(encoding="utf-8"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSON-lines file of the folder, raw."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
