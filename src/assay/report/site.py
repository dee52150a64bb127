"""`assay report`: a static site that works offline (CSS, JS and images inline; no CDN, no server).

    DIR/index.html              sortable leaderboard, per-benchmark charts, runs, diffs, all rows
    DIR/runs/<run_id>.html      one run: models, results, samples, configuration
    DIR/diffs/<A>__vs__<B>.html per-sample diff of two evaluations (flipped samples by sample id)
    DIR/explore/index.html      the sample explorer (assay.view): every sample, filters, search, 2x2 compare;
                                its data in files loaded on demand (explore/data/), so large runs stay light

The site is built in a temporary sibling folder and swapped in at the end, so an interrupted build never
leaves half a report; an existing folder is only replaced when it holds an earlier assay report.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape

from assay.errors import UsageError
from assay.leaderboard.store import LeaderboardRow, Problem, read_rows, rows_from_record
from assay.leaderboard.views import (
    WideRow,
    WideTable,
    collapse_subtasks,
    drop_repeats,
    latest,
    primary_metrics,
    unify_models,
    wide,
)
from assay.report.collect import (
    RunDiff,
    RunInfo,
    build_diffs,
    consecutive_pairs,
    explicit_pairs,
    find_runs,
)

MARKER = '<meta name="generator" content="assay report">'
MAX_ALL_ROWS = 5000  # the "all rows" table; beyond that the page gets slow to sort


@dataclass(frozen=True)
class ReportInputs:
    rows: list[LeaderboardRow]
    problems: list[Problem]
    source: str
    runs: list[RunInfo]


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or value == "":
        return ""
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer(value: Any, choices: Sequence[str] | None = None) -> str:
    """A multiple-choice index shown with its text ("2: mitochondria"); anything else shortened."""
    if isinstance(value, int) and not isinstance(value, bool) and choices and 0 <= value < len(choices):
        return _short(f"{value}: {choices[value]}")
    return _short(value)


def _env() -> Environment:
    env = Environment(loader=PackageLoader("assay.report", "templates"), autoescape=select_autoescape(["html"]))
    env.globals.update(fmt=_fmt, short=_short, answer=_answer)
    return env


def gather(leaderboard: Path, runs_dir: Path) -> ReportInputs:
    """Leaderboard rows (from the CSV, else from the runs' summaries) and the finished runs."""
    runs = find_runs(runs_dir)
    if leaderboard.exists():
        rows, problems = read_rows(leaderboard)
        return ReportInputs(rows, problems, str(leaderboard), runs)
    if not runs:
        raise UsageError(
            f"nothing to report: no leaderboard at {leaderboard} and no finished runs in {runs_dir}",
            hint="pass --leaderboard FILE and/or --runs DIR",
        )
    rows = [row for run in runs for row in rows_from_record(run.record)]
    return ReportInputs(rows, [], f"the summaries of {len(runs)} run(s) in {runs_dir}", runs)


def _charts(rows: Sequence[LeaderboardRow], scratch: Path) -> list[tuple[str, str]]:
    """(caption, data URI) of every plot, so the pages carry their images inside them."""
    from assay.leaderboard.plots import plot_all

    charts = []
    for path in plot_all(rows, scratch):
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        charts.append((path.stem.replace("_", " "), f"data:image/png;base64,{data}"))
    return charts


def _unit_links(run: RunInfo) -> list[dict[str, Any]]:
    """Each samples file of the run with its link into the explorer (the samples are not inlined)."""
    units = []
    for model, task in run.units():
        state = urlencode({"run": run.run_id, "model": model, "task": task})
        units.append({"model": model, "task": task, "href": f"../explore/index.html#{state}"})
    return units


def _write_explorer(inputs: ReportInputs, diffs: list[RunDiff], target: Path) -> None:
    """The sample explorer over every run, with `assay compare`'s figures for each diffed pair and task."""
    from assay.view.runs import open_view_run
    from assay.view.static_site import write_explorer

    runs = [open_view_run(r.folder) for r in inputs.runs]
    unit_of = {(u.run_id, u.model, u.task): u for r in runs for u in r.units}
    pairs = []
    for d in diffs:
        for t in d.tasks:
            a, b = unit_of.get((d.a.run_id, d.a.model, t.task)), unit_of.get((d.b.run_id, d.b.model, t.task))
            if a is not None and b is not None:
                pairs.append((a, b))
    write_explorer(target / "explore", runs, pairs, back='<a href="../index.html">← report</a>')


def _counts(diff: RunDiff, attr: str) -> int:
    return sum(len(getattr(t, attr)) for t in diff.tasks)


def _rank_key(table: WideTable, row: WideRow, metric: str) -> tuple[int, float, str]:
    mean = table.mean(row, metric) if metric else None
    return (mean is None, -(mean or 0.0), row.model)


def _render_index(env: Environment, inputs: ReportInputs, diffs: list[RunDiff], charts: list[tuple[str, str]]) -> str:
    unified, _ = unify_models(inputs.rows)  # an alias and its folder path (one fingerprint) are one model
    grouped, hidden = collapse_subtasks(drop_repeats(unified)[0])
    shown = latest(grouped)
    table = wide(shown, by_run=False)
    # best first (by the mean of the most used metric) until the user sorts; no mean mixes two metrics or two
    # task sets (a model lacking one of the metric's benchmarks has no mean and comes last)
    first = table.metrics[0] if table.metrics else ""
    table_rows = sorted(table.rows, key=lambda r: _rank_key(table, r, first))
    metrics = sorted(set(primary_metrics(shown).values()))
    all_rows = sorted(inputs.rows, key=lambda r: (r.eval_date, r.run_id), reverse=True)
    return env.get_template("index.html").render(
        root="",
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        source=inputs.source,
        metric_note=("metric: " + ", ".join(metrics) if metrics else "no metrics")
        + (f"; {len(hidden)} subtasks of groups are in the full list below" if hidden else ""),
        problems=inputs.problems,
        table=type(table)(columns=table.columns, rows=tuple(table_rows)),
        charts=charts,
        runs=list(reversed(inputs.runs)),
        run_pages={r.run_id for r in inputs.runs},
        diffs=diffs,
        gained=lambda d: _counts(d, "gained"),
        lost=lambda d: _counts(d, "lost"),
        all_rows=all_rows[:MAX_ALL_ROWS],
        all_rows_truncated=len(all_rows) > MAX_ALL_ROWS,
    )


def _write_pages(
    env: Environment,
    inputs: ReportInputs,
    diffs: list[RunDiff],
    target: Path,
    max_samples: int,
    tick: Callable[[], None],
) -> None:
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    (target / "runs").mkdir(parents=True, exist_ok=True)
    (target / "diffs").mkdir(parents=True, exist_ok=True)
    run_tpl, diff_tpl = env.get_template("run.html"), env.get_template("diff.html")
    for run in inputs.runs:
        mine = [d for d in diffs if run.run_id in (d.a.run_id, d.b.run_id)]
        html = run_tpl.render(
            root="../",
            generated=generated,
            run=run,
            s=run.record,
            units=_unit_links(run),
            diffs=mine,
        )
        (target / "runs" / f"{run.run_id}.html").write_text(html, encoding="utf-8")
        tick()
    for diff in diffs:
        html = diff_tpl.render(root="../", generated=generated, diff=diff, max_flips=max_samples)
        (target / "diffs" / f"{diff.slug}.html").write_text(html, encoding="utf-8")
        tick()


def _check_output(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output} is a file", hint="give a folder for the report")
    if output.is_dir() and any(output.iterdir()):
        index = output / "index.html"
        if not (index.exists() and MARKER in index.read_text(encoding="utf-8", errors="replace")[:2000]):
            raise UsageError(
                f"--output {output} is not empty and holds no earlier assay report",
                hint="choose an empty or new folder (the report replaces the folder's content)",
            )


def build_site(
    output: Path,
    leaderboard: Path,
    runs_dir: Path,
    *,
    diff_specs: Sequence[str] = (),
    max_samples: int = 500,
    progress: Callable[[int], Callable[[], None]] | None = None,
) -> Path:
    """Write the report into `output` (replacing an earlier report there) and return index.html's path.

    `diff_specs` ("RUN_A[:MODEL],RUN_B[:MODEL]") add diffs to the automatic ones (each evaluation against the
    previous one of its task).
    `progress(total)` returns a callback ticked once per page written.
    """
    _check_output(output)
    inputs = gather(leaderboard, runs_dir)
    pairs = consecutive_pairs(inputs.runs)
    pairs += [p for p in explicit_pairs(diff_specs, inputs.runs) if p not in pairs]
    diffs = build_diffs(inputs.runs, pairs)
    env = _env()
    output.parent.mkdir(parents=True, exist_ok=True)
    tick = progress(len(inputs.runs) + len(diffs) + 1) if progress else (lambda: None)
    with tempfile.TemporaryDirectory(prefix=f".{output.name}.", dir=output.parent) as tmp:
        target = Path(tmp) / "site"
        target.mkdir()
        charts = _charts(inputs.rows, Path(tmp) / "plots")
        _write_pages(env, inputs, diffs, target, max_samples, tick)
        _write_explorer(inputs, diffs, target)
        (target / "index.html").write_text(_render_index(env, inputs, diffs, charts), encoding="utf-8")
        tick()
        if output.exists():
            shutil.rmtree(output)  # only an earlier assay report, checked above
        target.rename(output)
    return output / "index.html"
