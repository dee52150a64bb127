"""The plot attached to every tracked run: each task's metrics with their standard errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from assay.records import TaskResult


def metrics_plot(results: Sequence[TaskResult], title: str, path: Path) -> Path | None:
    """Bar chart of every (task, metric) in [0, 1] with ±stderr bars as PNG; None if nothing to plot."""
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display
    import matplotlib.pyplot as plt

    labels: list[str] = []
    values: list[float] = []
    errors: list[float] = []
    for result in results:
        for metric, mv in sorted(result.metrics.items()):
            # unbounded metrics (perplexity, counts) would squash the chart; they stay in the metrics table
            if not 0.0 <= float(mv.value) <= 1.0:
                continue
            labels.append(f"{result.task}\n{metric}")
            values.append(float(mv.value))
            errors.append(float(mv.stderr or 0.0))
    if not labels:
        return None
    fig, ax = plt.subplots(figsize=(max(4.0, 1.2 * len(labels) + 1.5), 3.6))
    try:
        ax.bar(range(len(labels)), values, yerr=errors, capsize=4, color="#4C72B0")
        ax.set_xticks(range(len(labels)), labels, fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("score (±1 stderr)")
        ax.set_title(title, fontsize=10)
        for i, v in enumerate(values):
            ax.text(i, min(v + 0.03, 0.95), f"{v:.3f}", ha="center", fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path
