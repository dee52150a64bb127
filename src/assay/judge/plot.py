"""The per-category MT-Bench plot: one group of bars per category, one bar per series (turn or model)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path


def plot_categories(
    series: Mapping[str, Mapping[str, float | None]],
    path: Path,
    *,
    title: str,
    ylabel: str,
    ylim: tuple[float, float],
) -> Path:
    """Grouped bar chart {series: {category: value}} saved as PNG; a missing value shows as n/a."""
    import matplotlib

    matplotlib.use("Agg")  # headless: no display on servers and in CI
    import matplotlib.pyplot as plt

    categories = sorted({c for values in series.values() for c in values})
    width = 0.8 / max(len(series), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(categories) + 2), 4.0))
    try:
        for k, (label, values) in enumerate(series.items()):
            xs = [i + (k - (len(series) - 1) / 2) * width for i in range(len(categories))]
            ys = [values.get(c) for c in categories]
            heights = [0.0 if y is None or math.isnan(y) else y for y in ys]
            bars = ax.bar(xs, heights, width=width, label=label)
            for bar, y in zip(bars, ys, strict=True):
                text = "n/a" if y is None or math.isnan(y) else f"{y:.2f}"
                ax.annotate(
                    text,
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                )
        ax.set_xticks(range(len(categories)), categories, rotation=20)
        ax.set_ylim(*ylim)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        if len(series) > 1:
            ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)
    return path
