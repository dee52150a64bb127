"""`assay leaderboard show|history|plot` through the real CLI on a leaderboard written by real runs' rows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.leaderboard.conftest import CliResult
from tests.leaderboard.runfactory import write_run


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    lb = tmp_path / "data" / "leaderboard.csv"
    runs = tmp_path / "runs"
    # model-a improves on arc_easy from run 1 to run 2; model-b has one run and leads on hellaswag
    write_run(
        runs,
        "20261101-120000-aaaaaa",
        "2026-11-01T12:00:00+00:00",
        {("model-a", "arc_easy"): [1, 0, 0, 0], ("model-a", "hellaswag"): [1, 0, 0, 0]},
        leaderboard=lb,
    )
    write_run(
        runs,
        "20261102-120000-bbbbbb",
        "2026-11-02T12:00:00+00:00",
        {("model-b", "arc_easy"): [1, 1, 0, 0], ("model-b", "hellaswag"): [1, 1, 1, 0]},
        leaderboard=lb,
    )
    write_run(
        runs,
        "20261103-120000-cccccc",
        "2026-11-03T12:00:00+00:00",
        {("model-a", "arc_easy"): [1, 1, 1, 0]},
        leaderboard=lb,
    )
    return tmp_path


def _order(stdout: str, names: list[str]) -> list[str]:
    """The names in the order their lines appear in the printed table."""
    lines = [line for line in stdout.splitlines() if any(n in line for n in names)]
    return [next(n for n in names if n in line) for line in lines]


def _cells(stdout: str, name: str) -> list[str]:
    """The cells of the table line that starts with `name`."""
    line = next(line for line in stdout.splitlines() if line.startswith(f"│ {name} "))
    return [c.strip() for c in line.strip("│").split("│")]


def test_show_latest_sorted_by_column(workdir: Path, cli: Callable[..., CliResult]) -> None:
    res = cli("leaderboard", "show", "--latest", "--sort", "arc_easy", "--desc", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert _order(res.stdout, ["model-a", "model-b"]) == ["model-a", "model-b"]  # 0.75 (latest) > 0.50
    assert _cells(res.stdout, "model-a")[2:] == ["0.7500", "0.2500", "0.5000"]  # arc_easy, hellaswag, mean
    res = cli("leaderboard", "show", "--latest", "--sort", "hellaswag", "--desc", cwd=workdir)
    assert _order(res.stdout, ["model-a", "model-b"]) == ["model-b", "model-a"]


def test_show_per_run_and_long(workdir: Path, cli: Callable[..., CliResult]) -> None:
    res = cli("leaderboard", "show", "--sort", "eval_date", cwd=workdir)
    runs = ["20261101-120000-aaaaaa", "20261102-120000-bbbbbb", "20261103-120000-cccccc"]
    assert _order(res.stdout, runs) == runs
    res = cli("leaderboard", "show", "--long", "--task", "hellaswag", "--metric", "acc", cwd=workdir)
    assert res.returncode == 0 and res.stdout.count("hellaswag") == 2 and "arc_easy" not in res.stdout


def test_torn_rows_are_reported(workdir: Path, cli: Callable[..., CliResult]) -> None:
    with (workdir / "data" / "leaderboard.csv").open("a") as fh:
        fh.write("model-z,half a row\n")
    res = cli("leaderboard", "show", cwd=workdir)
    assert res.returncode == 0
    assert "not valid leaderboard rows" in res.stderr and "model-z,half a row" in res.stderr


def test_usage_errors_are_one_line(workdir: Path, cli: Callable[..., CliResult]) -> None:
    res = cli("leaderboard", "show", "--task", "arc_eazy", cwd=workdir)
    assert res.returncode == 2 and "did you mean 'arc_easy'" in res.stderr and "Traceback" not in res.stderr
    res = cli("leaderboard", "history", "model-c", cwd=workdir)
    assert res.returncode == 2 and "model-a" in res.stderr
    res = cli("leaderboard", "show", "--leaderboard", "nowhere.csv", cwd=workdir)
    assert res.returncode == 2 and "no leaderboard" in res.stderr


def test_history_lists_runs_in_time_order(workdir: Path, cli: Callable[..., CliResult]) -> None:
    res = cli("leaderboard", "history", "model-a", "--task", "arc_easy", "--metric", "acc", cwd=workdir)
    assert res.returncode == 0, res.stderr
    assert _order(res.stdout, ["20261101", "20261103"]) == ["20261101", "20261103"]
    assert "0.2500" in res.stdout and "0.7500" in res.stdout


def test_plot_writes_pngs(workdir: Path, cli: Callable[..., CliResult]) -> None:
    import matplotlib.image

    res = cli("leaderboard", "plot", "--output", "plots", cwd=workdir)
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in (workdir / "plots").iterdir())
    assert names == [
        "comparison_bars.png",
        "comparison_heatmap.png",
        "history_arc_easy.png",
        "history_hellaswag.png",
    ]
    image = matplotlib.image.imread(workdir / "plots" / "history_arc_easy.png")
    assert image.shape[0] >= 300 and image.shape[1] >= 500
    assert image.std() > 0.05  # not a blank canvas
