"""Plots of the leaderboard (matplotlib, Agg backend so they render on a headless CI machine).

score over time: one PNG per benchmark, a line per model, error bars of one stderr
comparison:      a model x benchmark heatmap and a grouped bar chart of the latest scores
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from assay.leaderboard.store import LeaderboardRow
from assay.leaderboard.views import collapse_subtasks, latest, primary_metrics, wide


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on CI machines; must happen before pyplot is imported
    import matplotlib.pyplot as plt

    return plt


def _file_part(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"


def _when(row: LeaderboardRow) -> datetime | None:
    try:
        stamp = datetime.fromisoformat(row.eval_date.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp.replace(tzinfo=None)  # mixed naive/aware dates cannot share an axis


def _primary(rows: Sequence[LeaderboardRow]) -> list[LeaderboardRow]:
    chosen = primary_metrics(rows)
    return [r for r in rows if chosen[r.benchmark] == r.metric]


def time_limits(dates: Sequence[datetime]) -> tuple[datetime, datetime]:
    """The time axis spans the data: 5% either side, or 12 hours either side of a single instant (matplotlib's
    default for one date is years wide)."""
    lo, hi = min(dates), max(dates)
    pad = (hi - lo) * 0.05 if hi > lo else timedelta(hours=12)
    return lo - pad, hi + pad


def history_figure(rows: Sequence[LeaderboardRow], task: str) -> Any:
    """The figure of one benchmark's primary metric over eval date, a line per model (rows already primary)."""
    import matplotlib.dates as mdates

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    metric = ""
    dates: list[datetime] = []
    for model in sorted({r.model for r in rows if r.benchmark == task}):
        points = sorted(((w, r) for r in rows if r.benchmark == task and r.model == model if (w := _when(r))),
                        key=lambda p: p[0])  # fmt: skip
        if not points:
            continue
        metric = points[0][1].metric
        dates.extend(p[0] for p in points)
        ax.errorbar([p[0] for p in points], [p[1].score for p in points],
                    yerr=[p[1].stderr or 0.0 for p in points], marker="o", capsize=3, label=model)  # fmt: skip
    if dates:
        ax.set_xlim(*time_limits(dates))
        locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(f"{task}: {metric} over time")
    ax.set_xlabel("eval date (UTC)")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def plot_history(rows: Sequence[LeaderboardRow], out_dir: Path) -> list[Path]:
    """One PNG per benchmark: its primary metric over eval date, a line per model. Returns the files."""
    plt = _pyplot()
    out_dir.mkdir(parents=True, exist_ok=True)
    selected = _primary(rows)
    paths = []
    for task in sorted({r.benchmark for r in selected}):
        fig = history_figure(selected, task)
        path = out_dir / f"history_{_file_part(task)}.png"
        fig.savefig(path)
        plt.close(fig)
        paths.append(path)
    return paths


def plot_heatmap(rows: Sequence[LeaderboardRow], out_dir: Path) -> Path | None:
    """Latest primary score per model x benchmark as an annotated heatmap (None when there is nothing)."""
    table = wide(latest(rows), by_run=False)
    if not table.rows:
        return None
    plt = _pyplot()
    models = sorted(r.model for r in table.rows)
    by_model = {r.model: r for r in table.rows}
    grid = [[by_model[m].score(c) for c in table.columns] for m in models]
    values = [[float("nan") if v is None else v for v in line] for line in grid]
    fig, ax = plt.subplots(figsize=(1.6 + 1.1 * len(table.columns), 1.4 + 0.5 * len(models)), dpi=100)
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(table.columns)), labels=list(table.columns), rotation=30, ha="right")
    ax.set_yticks(range(len(models)), labels=models)
    for i, line in enumerate(grid):
        for j, v in enumerate(line):
            if v is not None:
                ax.text(
                    j,
                    i,
                    f"{v:.3f}",
                    ha="center",
                    va="center",
                    color="white" if v < 0.6 else "black",
                    fontsize=8,
                )
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set_title("latest score per model and benchmark")
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "comparison_heatmap.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_bars(rows: Sequence[LeaderboardRow], out_dir: Path) -> Path | None:
    """Grouped bars: a group per benchmark, a bar per model (latest primary score, stderr whiskers)."""
    table = wide(latest(rows), by_run=False)
    if not table.rows:
        return None
    plt = _pyplot()
    models = sorted(r.model for r in table.rows)
    by_model = {r.model: r for r in table.rows}
    width = 0.8 / max(1, len(models))
    fig, ax = plt.subplots(figsize=(2 + 1.3 * len(table.columns), 4), dpi=100)
    for k, model in enumerate(models):
        cells = [by_model[model].cells.get(c) for c in table.columns]
        xs = [j + k * width - 0.4 + width / 2 for j in range(len(table.columns))]
        ax.bar(
            xs,
            [c.score if c else 0.0 for c in cells],
            width=width,
            label=model,
            yerr=[(c.stderr or 0.0) if c else 0.0 for c in cells],
            capsize=2,
        )
    ax.set_xticks(range(len(table.columns)), labels=list(table.columns), rotation=30, ha="right")
    top = max((c.score for r in table.rows for c in r.cells.values()), default=1.0)
    ax.set_ylim(0, max(1.0, top * 1.05))  # most metrics are fractions; a few (e.g. perplexity) are not
    ax.set_ylabel("score")
    ax.set_title("latest score per benchmark")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "comparison_bars.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_all(rows: Sequence[LeaderboardRow], out_dir: Path) -> list[Path]:
    """Every plot: history per benchmark, then the heatmap and the bar chart (groups, not their subtasks)."""
    rows, _ = collapse_subtasks(rows)
    paths = plot_history(rows, out_dir)
    for extra in (plot_heatmap(rows, out_dir), plot_bars(rows, out_dir)):
        if extra is not None:
            paths.append(extra)
    return paths
