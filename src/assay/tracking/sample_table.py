"""The per-sample results of a tracked run as an MLflow table (`samples_table.json`), shown in MLflow's UI.

The samples files themselves are already logged (artifacts `samples/<model>_<task>.jsonl`, every field); the
table does not copy them a second time. It holds one row per sample with what a reader scans for: the sample
id and task, the question (the prompt's last paragraph, without the few-shot examples every row repeats), the
first output, prediction, target, and one column per metric. Long texts are cut to TEXT_LIMIT characters; the
full record is one click away in the samples artifact named in the `samples_file` column.
"""

from __future__ import annotations

import json
from typing import Any

from assay.runs.folder import RunFolder
from assay.view.rows import split_prompt

TABLE_FILE = "samples_table.json"
TEXT_LIMIT = 500


def _cut(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= TEXT_LIMIT else text[: TEXT_LIMIT - 1] + "…"


def sample_table(folder: RunFolder, model: str) -> dict[str, list[Any]]:
    """Column name -> values, one row per sample of every task of `model` (empty when it has none)."""
    rows: list[dict[str, Any]] = []
    metrics: list[str] = []
    for result in folder.record.task_results(model, groups=False):
        if not folder.has_samples(model, result.task):
            continue
        path = folder.samples_file(model, result.task)
        for sample in folder.samples(model, result.task):
            scores = {s.metric: s.value for s in sample.scores}
            metrics += [m for m in scores if m not in metrics]
            rows.append({
                "sample_id": sample.sample_id,
                "task": sample.task,
                "question": _cut(split_prompt(sample.prompt)[1]),
                "output": _cut(sample.outputs[0]) if sample.outputs else "",
                "prediction": _cut(sample.prediction),
                "target": _cut(sample.target),
                "correct": sample.correct,
                "samples_file": f"samples/{path.name}",
                **scores,
            })  # fmt: skip
    columns = ["sample_id", "task", "question", "output", "prediction", "target", "correct", *metrics]
    table = {name: [row.get(name) for row in rows] for name in columns}
    table["samples_file"] = [row["samples_file"] for row in rows]
    return table if rows else {}


def log_sample_table(client: Any, run_id: str, folder: RunFolder, model: str) -> int:
    """Log the table to the MLflow run; returns its row count (0: nothing logged)."""
    table = sample_table(folder, model)
    if not table:
        return 0
    client.log_table(run_id, data=table, artifact_file=TABLE_FILE)
    return len(table["sample_id"])
