"""History plots scale their time axis to the data: a one-point history spans a day, not years."""

from __future__ import annotations

from datetime import datetime

import matplotlib.dates as mdates

from assay.leaderboard.plots import history_figure
from assay.leaderboard.store import LeaderboardRow


def _row(date: str) -> LeaderboardRow:
    return LeaderboardRow("m", "", "fp", "arc_easy", "d", "s", "acc", 0.5, 0.01, 10, date, "r", "")


def _span_days(rows: list[LeaderboardRow]) -> tuple[float, float, float]:
    low, high = history_figure(rows, "arc_easy").axes[0].get_xlim()
    return high - low, low, high


def test_one_point_spans_a_day() -> None:
    span, low, high = _span_days([_row("2026-12-03T10:00:00+00:00")])
    assert span == 1.0  # 12 hours either side (matplotlib's own default spans years)
    assert low < mdates.date2num(datetime(2026, 12, 3, 10)) < high


def test_points_fill_the_axis() -> None:
    span, low, high = _span_days([_row("2026-12-01T10:00:00+00:00"), _row("2026-12-11T10:00:00+00:00")])
    assert abs(span - 11.0) < 1e-9  # ten days of data and 5% either side
    assert abs(low - mdates.date2num(datetime(2026, 11, 30, 22))) < 1e-9
