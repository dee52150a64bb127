"""The per-category plot is a real PNG with one group of bars per category."""

from __future__ import annotations

from pathlib import Path

from assay.judge.plot import plot_categories


def test_plot_writes_a_png_with_missing_values(tmp_path: Path) -> None:
    series = {
        "turn 1": {"writing": 7.5, "math": 3.0, "coding": None},
        "turn 2": {"writing": 6.0, "math": 2.5},
    }
    path = plot_categories(series, tmp_path / "plot.png", title="MT-Bench", ylabel="score", ylim=(0, 10.5))
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width >= 6 * 110  # a figure at least 6 inches wide at 110 dpi
