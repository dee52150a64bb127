"""`assay score OUTPUTS.jsonl --metrics ...`: the scoring lab. Score candidate outputs against references.

Input: one JSON object per line.

    {"id": "q1", "prompt": "...", "reference": "text" | ["text", ...], "outputs": ["cand 1", "cand 2"]}
    {"id": "q1", "reference": "...", "outputs": {"model-x": "text", "model-y": "text"}}
    {"id": "q2", "reference": "...", "output": "text", "model": "model-x"}

An output's model is the key in an `outputs` object, else the row's `model`, else --model, else
"candidate-<k>" (its position in the `outputs` list). Several outputs of one model for the same id are
scored as separate samples (`<id>#<k>`).

Writes a run folder (summary.json, metrics.json, samples/, and results.jsonl with one row per output and
metric); with --leaderboard FILE it also appends one leaderboard row per model and metric (only when asked: the
candidates of a scoring session, `candidate-1`, `candidate-2`, are not models the leaderboard should rank).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from assay.cli._table import Cell, Col, print_table
from assay.cli.common import console
from assay.errors import DataError
from assay.leaderboard.store import DEFAULT_LEADERBOARD, check_appendable
from assay.metrics import MetricSpec, expand_metric_names
from assay.metrics.aggregate import aggregate_scores
from assay.records import ModelInfo, RunRecord, SampleResult, Score, TaskResult
from assay.runs.layout import DEFAULT_OUTPUT
from assay.session import RunSession, RunStart

_SHOW_OUTPUTS = 30  # print every output's scores when there are at most this many


@dataclass(frozen=True, slots=True)
class Candidate:
    """One output to score: what it answers, who wrote it, and against which references."""

    sample_id: str
    item_id: str
    prompt: str
    references: tuple[str, ...]
    model: str
    output: str


def _fail(path: Path, line: int, reason: str) -> DataError:
    return DataError(f"{path}:{line}: {reason}", hint="rows need 'reference' and 'output' or 'outputs'")


def _references(row: dict[str, Any], path: Path, line: int) -> tuple[str, ...]:
    ref = row.get("reference")
    refs = (ref,) if isinstance(ref, str) else tuple(ref) if isinstance(ref, list) else None
    if not refs or not all(isinstance(r, str) for r in refs):
        raise _fail(path, line, "'reference' must be a string or a non-empty list of strings")
    return refs


def _outputs(row: dict[str, Any], path: Path, line: int, model: str | None) -> list[tuple[str, str]]:
    """(model, text) pairs of one row."""
    if ("output" in row) == ("outputs" in row):
        raise _fail(path, line, "give exactly one of 'output' (a string) and 'outputs' (a list or object)")
    row_model = row.get("model")
    if row_model is not None and not isinstance(row_model, str):
        raise _fail(path, line, "'model' must be a string")
    if "output" in row:
        pairs = [(row_model or model or "candidate-1", row["output"])]
    elif isinstance(row["outputs"], dict):
        pairs = [(str(k), v) for k, v in row["outputs"].items()]
    elif isinstance(row["outputs"], list):
        pairs = [(row_model or model or f"candidate-{k}", v) for k, v in enumerate(row["outputs"], start=1)]
    else:
        raise _fail(path, line, "'outputs' must be a list of strings or an object {model: string}")
    if not pairs or not all(isinstance(text, str) for _, text in pairs):
        raise _fail(path, line, "every output must be a string, and there must be at least one")
    return pairs


def read_candidates(path: Path, model: str | None = None) -> list[Candidate]:
    """Every output of the file as a Candidate; DataError naming the file and line of the first bad row."""
    if not path.is_file():
        raise DataError(f"no such file: {path}", hint="give the path of an outputs JSONL file")
    out: list[Candidate] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as fh:
        for line, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise _fail(path, line, f"not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise _fail(path, line, "each line must be a JSON object")
            item_id = str(row.get("id", f"line-{line}"))
            if item_id in seen:
                raise _fail(path, line, f"duplicate id {item_id!r}")
            seen.add(item_id)
            refs, prompt = _references(row, path, line), row.get("prompt", "")
            per_model: dict[str, int] = {}
            for name, output in _outputs(row, path, line, model):
                per_model[name] = per_model.get(name, 0) + 1
                sid = f"{path.stem}/{item_id}" + (f"#{per_model[name]}" if per_model[name] > 1 else "")
                out.append(Candidate(sid, item_id, str(prompt), refs, name, output))
    if not out:
        raise DataError(f"{path} holds no outputs to score", hint="one JSON object per line")
    return out


def score_candidates(candidates: list[Candidate], specs: list[MetricSpec], task: str) -> list[SampleResult]:
    """One SampleResult per candidate with a Score per metric (value None when the metric is undefined)."""
    results = []
    for c in candidates:
        scores = tuple(Score(metric=s.name, value=s(c.output, c.references)) for s in specs)
        results.append(
            SampleResult(
                sample_id=c.sample_id,
                task=task,
                model=c.model,
                prompt=c.prompt,
                target=c.references[0] if len(c.references) == 1 else c.references,
                prediction=c.output,
                scores=scores,
                extras={"id": c.item_id},
            )  # fmt: skip
        )
    return results


def score_config(path: Path, specs: list[MetricSpec]) -> dict[str, Any]:
    """What a scoring session was asked to do: its config.json (and RunRecord.config)."""
    return {"input": str(path), "metrics": [s.name for s in specs]}


def task_results(path: Path, task: str, results: list[SampleResult], specs: list[MetricSpec]) -> list[TaskResult]:
    """A TaskResult per model, aggregated as `assay run` aggregates (each metric's own catalog definition),
    without the metrics no sample could score."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    catalog = {s.name: s for s in specs}
    out = []
    for model in dict.fromkeys(r.model for r in results):
        mine = [r for r in results if r.model == model]
        out.append(
            TaskResult(
                model=model, task=task, n_samples=len(mine), dataset=str(path), dataset_sha256=digest,
                metrics=aggregate_scores([r.scores for r in mine], metrics=catalog),
            )  # fmt: skip
        )
    return out


def _result_rows(results: list[SampleResult], specs: list[MetricSpec]) -> list[dict[str, Any]]:
    return [
        {"id": r.extras["id"], "sample_id": r.sample_id, "model": r.model, "metric": s.name,
         "value": r.score(s.name), "higher_is_better": s.higher_is_better}
        for r in results
        for s in specs
    ]  # fmt: skip


def write_folder(session: RunSession, path: Path, results: list[SampleResult], specs: list[MetricSpec]) -> RunRecord:
    """Samples and results.jsonl into the unfinished folder, then the session finishes it (summary, metrics,
    one rename, leaderboard rows); a failure before the rename leaves nothing behind."""
    task = path.stem
    with session.guard():
        for model in dict.fromkeys(r.model for r in results):
            session.writer.write_samples(model, task, [r for r in results if r.model == model])
        session.writer.write_rows("results.jsonl", _result_rows(results, specs))
        per_model = task_results(path, task, results, specs)
    infos = [ModelInfo(name=r.model, backend="outputs-file", args={}, fingerprint="") for r in per_model]
    record, _ = session.finish(models=infos, results=per_model)
    return record


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4g}"


def _print_tables(record: RunRecord, results: list[SampleResult], specs: list[MetricSpec]) -> None:
    arrows = {s.name: "\u2191" if s.higher_is_better else "\u2193" for s in specs}
    metric_cols = [Col(f"{s.name} {arrows[s.name]}", right=True) for s in specs]
    if len(results) <= _SHOW_OUTPUTS:
        rows: list[list[Cell]] = []
        for r in results:
            text = str(r.prediction).replace("\n", "\\n")
            short = text if len(text) <= 40 else (text[:40].rsplit(" ", 1)[0] or text[:40]) + " ..."  # whole words
            rows.append([str(r.extras["id"]), r.model, short, *(_fmt(r.score(s.name)) for s in specs)])
        print_table(console, [Col("id"), Col("model", kind="path"), Col("output"), *metric_cols], rows,
                    title="scores per output")  # fmt: skip
    means: list[list[Cell]] = [
        [tr.model, str(tr.n_samples),
         *(_fmt(tr.metrics[s.name].value) if s.name in tr.metrics else "unscored" for s in specs)]
        for tr in record.results
    ]  # fmt: skip
    print_table(console, [Col("model", kind="path"), Col("n", right=True), *metric_cols], means,
                title=f"mean per model ({record.results[0].task}, run {record.run_id})")  # fmt: skip


def score(
    outputs: Path = typer.Argument(..., help="JSONL of outputs to score (format below)."),
    metrics: str = typer.Option(
        "exact_match,edit_distance,ast",
        "--metrics",
        "-m",
        help="Comma-separated metric names; 'ast' = ast_parses,ast_equal,ast_similarity.",
    ),
    model: str | None = typer.Option(None, "--model", help="Model name for outputs that do not name one."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Run folder to write (default runs/<run id>)."
    ),
    leaderboard: Path | None = typer.Option(
        None,
        "--leaderboard",
        "-l",
        help=f"Also append one row per model and metric to this leaderboard CSV (e.g. {DEFAULT_LEADERBOARD}); "
        "without it no row is written.",
    ),
    no_leaderboard: bool = typer.Option(False, "--no-leaderboard", hidden=True, help="The default; kept for scripts."),
) -> None:
    """Score several outputs per prompt against a reference with text and code metrics.

    \b
    Each line of OUTPUTS.jsonl is one prompt:
      {"id": "q1", "prompt": "...", "reference": "ref" or ["ref", ...], "outputs": ["out 1", "out 2"]}
      {"id": "q1", "reference": "...", "outputs": {"model-x": "out", "model-y": "out"}}
      {"id": "q2", "reference": "...", "output": "out", "model": "model-x"}
    An output's model: the key in an outputs object, else the row's "model", else --model, else
    candidate-<k> (its place in the outputs list). With several references the best score counts.

    Writes results.jsonl (one row per output and metric), summary.json, metrics.json and samples/ to the
    run folder and prints the scores; with --leaderboard FILE it appends one row per model and metric there
    (benchmark = the file's stem, dataset_sha256 = the file's sha256).
    """
    specs = expand_metric_names(metrics)
    if no_leaderboard:
        leaderboard = None
    if leaderboard is not None:
        check_appendable(leaderboard)  # a foreign CSV is refused before anything is written
    candidates = read_candidates(outputs, model)
    session = RunSession.start(
        RunStart(command="score", config=score_config(outputs, specs), output=DEFAULT_OUTPUT, run_dir=output,
                 use_cache=False, leaderboard=leaderboard)
    )  # fmt: skip
    with session.guard():
        results = score_candidates(candidates, specs, outputs.stem)
    record = write_folder(session, outputs, results, specs)
    _print_tables(record, results, specs)
    console.print(f"wrote {session.writer.final / 'results.jsonl'} ({len(results) * len(specs)} rows)",
                  highlight=False)  # fmt: skip
    if leaderboard is not None:
        console.print(f"appended {sum(len(r.metrics) for r in record.results)} rows to {leaderboard}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `assay score` to the CLI."""
    app.command("score")(score)
