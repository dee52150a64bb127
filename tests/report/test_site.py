"""The static report: diffs by sample id, pages written, nothing fetched remotely, safe output folder."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.report.collect import Side, build_diffs, consecutive_pairs, diff_task, explicit_pairs, find_runs
from assay.report.site import build_site
from tests.leaderboard.conftest import CliResult
from tests.leaderboard.runfactory import mc_samples, write_run

RUN1, RUN2, RUN3 = "20261101-120000-aaaaaa", "20261102-120000-bbbbbb", "20261103-120000-cccccc"


@pytest.fixture()
def workdir(tmp_path: Path) -> Path:
    lb = tmp_path / "data" / "leaderboard.csv"
    runs = tmp_path / "runs"
    write_run(
        runs,
        RUN1,
        "2026-11-01T12:00:00+00:00",
        {("m", "arc_easy"): [1, 1, 0, 0, 1], ("m", "piqa"): [1, 0]},
        leaderboard=lb,
    )
    write_run(
        runs,
        RUN2,
        "2026-11-02T12:00:00+00:00",
        {("m", "arc_easy"): [1, 0, 1, 1, 1], ("other", "arc_easy"): [0, 0, 0, 0, 0]},
        leaderboard=lb,
    )
    write_run(runs, RUN3, "2026-11-03T12:00:00+00:00", {("m", "piqa"): [0, 0]}, leaderboard=lb)
    (runs / "20261104-120000-dddddd").mkdir()  # a run without summary (still running): not shown
    return tmp_path


def test_diff_task_lists_flips_by_sample_id() -> None:
    a = mc_samples("m", "t", [1, 1, 0, 0])
    b = mc_samples("m", "t", [1, 0, 1, 0])
    b.reverse()  # pairing is by sample id, not by position
    d = diff_task("t", a, b)
    assert d is not None and d.task == "t"
    assert [f.sample_id for f in d.lost] == [a[1].sample_id]
    assert [f.sample_id for f in d.gained] == [a[2].sample_id]
    assert (d.metric, d.shared, d.mean_a, d.mean_b) == ("acc", 4, 0.5, 0.5)
    assert diff_task("t", a, mc_samples("m", "u", [1])) is None  # no shared ids


def test_automatic_pairs(workdir: Path) -> None:
    runs = find_runs(workdir / "runs")
    assert [r.run_id for r in runs] == [RUN1, RUN2, RUN3]
    pairs = consecutive_pairs(runs)
    assert pairs == [
        (Side(RUN2, "m"), Side(RUN2, "other")),  # two models in one run
        (Side(RUN1, "m"), Side(RUN2, "m")),  # m on arc_easy, run 1 -> run 2
        (Side(RUN1, "m"), Side(RUN3, "m")),  # m on piqa, run 1 -> run 3
    ]
    diffs = {(d.a, d.b): d for d in build_diffs(runs, pairs)}
    arc = diffs[(Side(RUN1, "m"), Side(RUN2, "m"))].tasks
    assert [t.task for t in arc] == ["arc_easy"]  # piqa is not in run 2
    assert [f.sample_id.split("/")[-1] for f in arc[0].gained] == ["2-00000002", "3-00000003"]
    assert [f.sample_id.split("/")[-1] for f in arc[0].lost] == ["1-00000001"]


def test_explicit_pairs(workdir: Path) -> None:
    runs = find_runs(workdir / "runs")
    assert explicit_pairs([f"{RUN1},{RUN3}"], runs) == [(Side(RUN1, "m"), Side(RUN3, "m"))]
    assert explicit_pairs([f"{RUN1}:m,{RUN2}:other"], runs) == [(Side(RUN1, "m"), Side(RUN2, "other"))]
    with pytest.raises(UsageError, match="cannot tell which models"):
        explicit_pairs([f"{RUN2},{RUN1}:m"], runs)  # run 2 has two models and none is named
    with pytest.raises(UsageError) as err:
        explicit_pairs([f"{RUN1},20261102-120000-bbbbbc"], runs)
    assert RUN2 in (err.value.hint or "")


def test_site_pages_offline_and_linked(workdir: Path) -> None:
    index = build_site(workdir / "site", workdir / "data" / "leaderboard.csv", workdir / "runs")
    site = index.parent
    assert sorted(p.name for p in (site / "runs").iterdir()) == [f"{r}.html" for r in (RUN1, RUN2, RUN3)]
    assert len(list((site / "diffs").iterdir())) == 3
    for page in site.rglob("*.html"):
        html = page.read_text()
        # no CDN, no remote anything: every src/href is relative, an anchor or a data: URI
        for url in re.findall(r'(?:src|href)="([^"]*)"', html):
            assert not re.match(r"^(https?:)?//", url), (page.name, url)
            if not url.startswith(("data:", "#")):
                assert (page.parent / url.split("#")[0]).exists(), (page.name, url)
    html = index.read_text()
    assert html.count('src="data:image/png;base64,') == 4  # 2 history charts + heatmap + bars
    run2 = (site / "runs" / f"{RUN2}.html").read_text()
    assert "fp-other" in run2 and 'href="../explore/index.html#run=' in run2
    # the samples are in the explorer's data files, not inlined into the run page
    data = "".join(p.read_text() for p in (site / "explore" / "data").rglob("*.js"))
    assert "arc_easy/test/1-00000001" in data and "arc_easy/test/1-00000001" not in run2


def test_output_folder_safety(workdir: Path) -> None:
    out = workdir / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    with pytest.raises(UsageError, match="not empty"):
        build_site(out, workdir / "data" / "leaderboard.csv", workdir / "runs")
    assert (out / "notes.txt").read_text() == "precious"
    site = workdir / "site"
    build_site(site, workdir / "data" / "leaderboard.csv", workdir / "runs")
    (site / "runs" / "stale.html").write_text("old")
    build_site(site, workdir / "data" / "leaderboard.csv", workdir / "runs")  # an earlier report is replaced
    assert not (site / "runs" / "stale.html").exists()
    assert not [p for p in workdir.iterdir() if p.name.startswith(".site.")]  # no temp folder left behind


def test_report_from_runs_alone_and_nothing_to_report(
    workdir: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    index = build_site(workdir / "site", workdir / "nowhere.csv", workdir / "runs")
    assert "the summaries of 3 run(s)" in index.read_text()
    res = cli(
        "report",
        "--output",
        str(tmp_path / "s2"),
        "--leaderboard",
        str(tmp_path / "no.csv"),
        "--runs",
        str(tmp_path / "none"),
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "nothing to report" in res.stderr and not (tmp_path / "s2").exists()
