"""The report's leaderboard never averages different metrics: one mean column per metric."""

from __future__ import annotations

import re
from pathlib import Path

from assay.leaderboard.store import LeaderboardRow, append_rows
from assay.report.site import build_site


def _row(model: str, task: str, metric: str, score: float) -> LeaderboardRow:
    return LeaderboardRow(model, "", "fp", task, "d", "s", metric, score, 0.01, 10,
                          "2026-12-01T10:00:00+00:00", f"20261201-100000-{model}", "")  # fmt: skip


def test_one_mean_per_metric(tmp_path: Path) -> None:
    board = tmp_path / "lb.csv"
    append_rows([
        _row("aaaaaa", "arc_easy", "acc", 0.8), _row("aaaaaa", "piqa", "acc", 0.6),
        _row("aaaaaa", "humaneval", "pass@1", 0.1), _row("aaaaaa", "mbpp", "pass@1", 0.3),
        _row("aaaaaa", "gsm8k", "exact_match", 0.2),
        _row("bbbbbb", "arc_easy", "acc", 0.4), _row("bbbbbb", "piqa", "acc", 0.5),
        _row("bbbbbb", "humaneval", "pass@1", 0.9), _row("bbbbbb", "mbpp", "pass@1", 0.7),
        _row("bbbbbb", "gsm8k", "exact_match", 0.9),
    ], board)  # fmt: skip
    (tmp_path / "runs").mkdir()
    html = build_site(tmp_path / "site", board, tmp_path / "runs").read_text()
    table = html[html.index('id="leaderboard"') : html.index("</table>", html.index('id="leaderboard"'))]
    headers = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<th[^>]*>.*?</th>", table)]
    # a metric of one column (exact_match) gets no mean: it would only repeat that column
    assert headers == ["model", "arc_easy", "gsm8k", "humaneval", "mbpp", "piqa", "mean acc", "mean pass@1",
                       "eval date"]  # fmt: skip
    means = re.findall(r'<td class="num mean" data-value="([^"]*)"', table)
    # best first by the mean of the most used metric: a (0.7 acc, 0.2 pass@1), then b (0.45 acc, 0.8 pass@1);
    # averaged across metrics they would be 0.4 and 0.68, and b would lead
    assert [round(float(m), 4) for m in means] == [0.7, 0.2, 0.45, 0.8]
