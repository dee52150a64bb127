"""Every run id assay prints is accepted back by the commands that take a run: the full id, the folder, and
the short forms tables print (a unique suffix such as `c3a599`, or a prefix); an ambiguous one is one line
listing the runs it matches, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_refused


def _run(cli: Cli, data_dir: str, *args: str) -> Path:
    before = set((cli.work / "runs").glob("*")) if (cli.work / "runs").exists() else set()
    done = cli("run", "--model", "fake", "--tasks", "arc_easy", "--limit", "10", "--data-dir", str(data_dir),
               "--leaderboard", "lb.csv", "--quiet", *args)  # fmt: skip
    [new] = set((cli.work / "runs").glob("*")) - before
    assert done.code in (0, 1), done.err
    return new


def test_short_ids_work_everywhere_and_ambiguity_is_one_line(
    cli: Cli, data_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = (_run(cli, data_dir, "--model-args", f"seed={seed}").name for seed in (1, 2))
    monkeypatch.setenv("COLUMNS", "44")  # narrow: the leaderboard shows run ids as their unique suffixes
    shown = cli("leaderboard", "show", "--leaderboard", "lb.csv")
    short_a, short_b = a[-6:], b[-6:]
    assert short_a in shown.out and short_b in shown.out and a not in shown.out, shown.out

    assert cli("compare", short_a, short_b, "--json").code == 0
    assert cli("compare", a[:-2], f"runs/{b}", "--json").code == 0  # a prefix, a folder
    gated = cli("gate", "--candidate", short_b, "--baseline", short_a)
    assert gated.code == 0 and "PASS" in gated.out, gated.err
    assert cli("audit", short_a, "--quiet").code == 0
    assert cli("report", "--output", "site", "--leaderboard", "lb.csv", "--diff", f"{short_a},{short_b}").code == 0

    cli.freeze()
    both = ", ".join(sorted([a, b]))  # by id: runs of the same second sort by their random suffix
    assert_refused(cli("compare", a[:8], short_b), cli, f"run id {a[:8]!r} is ambiguous: it matches {both}")

    monkeypatch.setenv("ASSAY_CHUNK_SIZE", "8")
    partial = _run(cli, data_dir, "--model-args", "seed=3,raise_after=20", "--no-leaderboard")
    assert partial.name.endswith(".partial")
    resumed = cli("run", "--resume", partial.name.removesuffix(".partial")[-6:], "--quiet")
    assert resumed.code == 1 and resumed.err.rstrip().endswith(f"assay run --resume runs/{partial.name}")
