"""`assay gate`: fail CI (exit 1) only on a regression both significant after Holm and larger than a delta."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import typer

from assay.cli._table import Cell, Col, print_table
from assay.cli.common import console, console_err, parse_kv
from assay.errors import Interrupted, UsageError

_STYLE = {"regression": "bold red", "improvement": "green", "worse, within min delta": "yellow"}
_SHORT = {"worse, within min delta": "worse ≤ δ", "no significant difference": "n.s."}  # fits 80 columns


def _tasks(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _sides(candidate: str, baseline: str, tasks: list[str], opts: dict[str, Any]) -> tuple[Any, Any]:
    from assay.gate import resolve
    from assay.runs.folder import find_unfinished

    output = Path(opts["output"])
    # resolve the baseline first: a wrong baseline must not cost a whole evaluation of the candidate
    base = resolve.baseline_side(baseline, output, opts["tracking_uri"])
    if resolve.looks_like_run(candidate, output):
        return resolve.run_side(candidate, output, "given as a run"), base
    partial = find_unfinished(candidate, output)
    if partial is not None:  # the gate's own resume: finish the interrupted candidate run, then gate
        console_err.print(f"finishing the candidate's unfinished run {partial}")
        return resolve.resume_candidate(partial), base
    spec = resolve.candidate_spec(candidate, parse_kv(opts.pop("model_args")), opts["tracking_uri"])
    if not tasks:
        raise UsageError(
            "--tasks is needed to evaluate a model candidate", hint="e.g. --tasks arc_easy,hellaswag"
        )
    fields = {k: v for k, v in opts.items() if k != "tracking_uri"}
    limit, samples = resolve.recorded_rows(base)
    if opts["limit"] is None and samples:  # the baseline's lm: documents, by id
        fields["samples"] = samples
        notice = (f"rows: the baseline run's --samples ({sum(map(len, samples.values()))} documents of "
                  f"{len(samples)} tasks; --limit N overrides)")  # fmt: skip
    else:
        fields["limit"], notice = _limit(opts["limit"], limit, bool(samples))
    return resolve.evaluate_candidate(spec, {**fields, "tasks": tuple(tasks)}, notice), base


def _rows(n: int | float | None) -> str:
    if n is None:
        return "every row"
    return f"{n} rows per task" if isinstance(n, int) else f"a fraction {n:g} of each task's rows"


def _limit(given: int | None, baseline: int | float | None, by_id: bool = False) -> tuple[int | float | None, str]:
    """--limit, else the baseline run's own, and the line that says which (a gate compares only the rows both
    sides ran). `by_id`: the baseline ran chosen documents (--samples), not a limit."""
    if given is None:
        return baseline, f"limit: {_rows(baseline)} (the baseline run's; --limit N overrides)"
    ran = "chosen documents (--samples)" if by_id else _rows(baseline)
    note = "" if given == baseline else f"; the baseline ran {ran}: only rows both ran are compared"
    return given, f"limit: {_rows(given)} (--limit{note})"


def _interrupted(exc: Interrupted, again: list[str]) -> Interrupted:
    """Ctrl-C / SIGTERM while the candidate was evaluated: exit 130 (1 means a regression) and the gate's own
    resume, which finishes the kept candidate run and then gates."""
    if exc.kept is None:
        return Interrupted(exc.message, hint="run the same assay gate command again")
    return Interrupted(
        f"interrupted: the candidate's run keeps every finished result in {exc.kept}",
        hint="finish it and gate with: " + shlex.join(["assay", "gate", "--candidate", exc.kept, *again]),
        kept=exc.kept,
    )


def _print(result: Any) -> None:
    from assay.gate.decide import status

    cols = [Col(c, right=c not in {"task", "metric", "status"}) for c in
            ("task", "metric", "n", "baseline", "candidate", "Δ", "p (Holm)", "status")]  # fmt: skip
    rows: list[list[Cell]] = []
    for c in result.comparisons:
        st = status(c, result.min_delta)
        rows.append([
            c.task, c.metric, str(c.n), f"{c.mean_b:.4f}", f"{c.mean_a:.4f}", f"{c.difference:+.4f}",
            f"{c.p_adjusted:.3g}", (_SHORT.get(st, st), _STYLE.get(st, "dim")),
        ])  # fmt: skip
    print_table(console, cols, rows, title="candidate vs baseline (paired, Holm-corrected)")
    console.print("n.s. = no significant difference after Holm; the Markdown summary has CIs and raw p", style="dim")
    console.print(result.verdict, style="bold red" if result.exit_code else "bold green")


def gate(
    candidate: str = typer.Option(
        ...,
        "--candidate",
        help="Run id/folder, or a model to evaluate now: alias, checkpoint folder, or models:/Name@alias.",
    ),  # fmt: skip
    baseline: str = typer.Option(
        ..., "--baseline", help="Run id/folder, or models:/Name@alias (its evaluating run)."
    ),
    tasks: list[str] = typer.Option([], "--tasks", "-t", help="Tasks, groups or globs (comma-separated)."),
    limit: int | None = typer.Option(
        None, "--limit", help="First N rows of each task (default: the baseline run's own limit)."
    ),
    data_dir: str | None = typer.Option(
        None, "--data-dir", help="Local benchmark data folder (or ASSAY_DATA_DIR)."
    ),
    min_delta: float = typer.Option(0.0, "--min-delta", min=0.0, help="Ignore drops no larger than this."),
    alpha: float = typer.Option(0.05, "--alpha", help="Family-wise significance level (Holm)."),
    summary: Path | None = typer.Option(None, "--summary", help="Write the Markdown summary here."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the decision and comparisons as JSON."),
    model_args: str | None = typer.Option(None, "--model-args", help="key=value,... for a model candidate."),
    num_fewshot: int | None = typer.Option(
        None, "--num-fewshot", help="Few-shot examples (default: the task's)."
    ),
    batch_size: str = typer.Option("8", "--batch-size", help="Rows per forward pass, or 'auto'."),
    seed: int = typer.Option(1234, "--seed", help="Seed for sampling in generative tasks."),
    gen_kwargs: str | None = typer.Option(
        None, "--gen-kwargs", help="Generation overrides: temperature=0.8,..."
    ),
    output: Path = typer.Option(Path("runs"), "--output", "-o", help="Runs folder (lookup and new runs)."),
    leaderboard: Path = typer.Option(Path("data/leaderboard.csv"), "--leaderboard", help="Leaderboard CSV."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not use the response cache."),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow URI for models:/ references."
    ),
) -> None:
    """Compare a candidate with a baseline on the same samples; exit 1 only on a real regression."""
    if not 0.0 < alpha < 1.0:
        raise UsageError(f"--alpha must be between 0 and 1, got {alpha}")
    opts: dict[str, Any] = dict(
        limit=limit, data_dir=data_dir, num_fewshot=num_fewshot, batch_size=batch_size, seed=seed,
        output=str(output), leaderboard=str(leaderboard), use_cache=not no_cache, tracking_uri=tracking_uri,
        model_args=model_args, gen_kwargs=parse_kv(gen_kwargs),
    )  # fmt: skip
    again = _options(baseline=baseline, tasks=",".join(_tasks(tasks)), min_delta=min_delta or None,
                     alpha=None if alpha == 0.05 else alpha, summary=summary, json=json_out,
                     output=None if output == Path("runs") else output, tracking_uri=tracking_uri)  # fmt: skip
    try:
        code = _execute(candidate, baseline, _tasks(tasks), opts, alpha=alpha, min_delta=min_delta,
                        summary=summary, json_out=json_out)  # fmt: skip
    except Interrupted as exc:
        raise _interrupted(exc, again) from None
    # sys.exit, not typer.Exit: in non-standalone mode click turns Exit into a return value, losing the code
    sys.exit(code)


def _options(**values: Any) -> list[str]:
    """`--name value` for each value given (None: left out), to repeat a command."""
    return [part for k, v in values.items() if v not in (None, "") for part in (f"--{k.replace('_', '-')}", str(v))]


def _execute(
    candidate: str, baseline: str, task_list: list[str], opts: dict[str, Any], *,
    alpha: float, min_delta: float, summary: Path | None, json_out: Path | None,
) -> int:  # fmt: skip
    """Resolve both sides, compare them, print and write the verdict; return the exit code."""
    from assay.gate.decide import decide
    from assay.gate.resolve import expand_tasks, pick_model
    from assay.gate.summary import markdown, write_json, write_summary
    from assay.stats.compare import compare_runs

    cand, base = _sides(candidate, baseline, task_list, opts)
    model_a, model_b = pick_model(cand), pick_model(base)
    comparisons = compare_runs(
        cand.run_dir, base.run_dir, tasks=expand_tasks(task_list, cand, model_a),
        model_a=model_a, model_b=model_b, alpha=alpha, runs_dir=Path(opts["output"]),
    )  # fmt: skip
    result = decide(comparisons, min_delta=min_delta, alpha=alpha)
    _print(result)
    text = markdown(result, cand, base)
    if summary:
        write_summary(summary, text)
        console.print(f"wrote {summary}")
    if json_out:
        write_json(json_out, result, cand, base)
    return result.exit_code


def register(app: typer.Typer) -> None:
    """Add the `gate` command."""
    app.command("gate")(gate)
