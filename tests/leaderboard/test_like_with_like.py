"""The leaderboard compares like with like (issue 26): a mean is never ranked across different task sets; repeated
results (the same import twice, the same run twice) are shown or stored once with a notice; `assay score` writes
rows only when asked; a model under an alias and under its folder path (one fingerprint) is one model."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.cli.run import print_results
from assay.leaderboard.store import LeaderboardRow, append_rows, read_rows, rows_from_record
from assay.runs.folder import open_run
from tests.leaderboard.conftest import CliResult
from tests.tracking.runfolders import write_run

FIXTURES = Path(__file__).parent / "fixtures"
Cli = Callable[..., CliResult]


def _row(model: str, task: str, score: float, run_id: str, fingerprint: str = "") -> LeaderboardRow:
    return LeaderboardRow(model, "", fingerprint or f"fp-{model}", task, f"d/{task}", "s", "acc", score, 0.01, 100,
                          f"2026-12-0{run_id[-1]}T10:00:00+00:00", run_id, "")  # fmt: skip


def test_a_mean_over_2_tasks_is_not_ranked_above_one_over_4(tmp_path: Path, cli: Cli) -> None:
    board = tmp_path / "lb.csv"
    append_rows([_row("two", "arc_easy", 0.5, "run-1"), _row("two", "hellaswag", 0.55, "run-1")]
                + [_row("four", t, s, "run-2") for t, s in
                   (("arc_easy", 0.3), ("hellaswag", 0.25), ("piqa", 0.35), ("winogrande", 0.25))], board)  # fmt: skip
    shown = json.loads(cli("leaderboard", "show", "-l", str(board), "--json", cwd=tmp_path).stdout)
    assert [(r["model"], r["means"]) for r in shown] == [("four", {"acc": 0.2875}), ("two", {})]
    done = cli("leaderboard", "show", "-l", str(board), cwd=tmp_path)
    text = " ".join(done.stdout.split())
    assert "mean acc: over all 4 benchmarks reporting it (arc_easy, hellaswag, piqa, winogrande)" in text
    assert "1 of 2 runs lack some of them and get no mean (ranked last)" in text
    assert text.index("four") < text.index("two")
    shared = json.loads(cli("leaderboard", "show", "-l", str(board), "--json", "-t", "arc_easy,hellaswag",
                            cwd=tmp_path).stdout)  # fmt: skip
    assert [(r["model"], r["means"]) for r in shared] == [("two", {"acc": 0.525}), ("four", {"acc": 0.275})]


def test_the_same_run_twice_is_shown_once_with_a_notice(
    tmp_path: Path, cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    board = tmp_path / "lb.csv"
    for run_id in ("20261201-100000-aaaaaa", "20261202-100000-bbbbbb"):  # the same command run twice
        folder = write_run(tmp_path / "runs", run_id, n=10, accuracy=0.6)
        record = open_run(folder).record
        append_rows(rows_from_record(record), board)
    assert len(read_rows(board)[0]) == 2  # the ledger keeps both
    capsys.readouterr()
    print_results(record.__class__.from_json({**record.to_json(), "config": {"leaderboard": str(board)}}), folder)
    assert "repeat run 20261201-100000-aaaaaa's exactly" in " ".join(capsys.readouterr().out.split())
    once = cli("leaderboard", "show", "-l", str(board), "--json", cwd=tmp_path)
    assert [r["run_id"] for r in json.loads(once.stdout)] == ["20261201-100000-aaaaaa"]
    text = " ".join(cli("leaderboard", "show", "-l", str(board), cwd=tmp_path).stdout.split())
    assert "20261202-100000-bbbbbb repeats 20261201-100000-aaaaaa; --repeats shows them" in text
    both = cli("leaderboard", "show", "-l", str(board), "--json", "--repeats", cwd=tmp_path)
    assert len(json.loads(both.stdout)) == 2
    other = write_run(tmp_path / "runs", "20261203-100000-cccccc", n=10, accuracy=0.7)  # a different result
    append_rows(rows_from_record(open_run(other).record), board)
    assert len(json.loads(cli("leaderboard", "show", "-l", str(board), "--json", cwd=tmp_path).stdout)) == 2


def test_importing_the_same_results_twice_keeps_one_copy(tmp_path: Path, cli: Cli) -> None:
    board = tmp_path / "lb.csv"
    results = tmp_path / "results.json"
    shutil.copy(FIXTURES / "lm_eval_results_tiny_mc.json", results)
    first = cli("leaderboard", "import", str(results), "-l", str(board), cwd=tmp_path)
    count = len(read_rows(board)[0])
    assert first.returncode == 0 and count > 0 and "imported" in first.stdout
    again = cli("leaderboard", "import", str(results), "-l", str(board), cwd=tmp_path)
    assert again.returncode == 0 and len(read_rows(board)[0]) == count
    assert "skipped" in again.stdout and "already in" in again.stdout and "--keep-duplicates" in again.stdout
    kept = cli("leaderboard", "import", str(results), "-l", str(board), "--keep-duplicates", cwd=tmp_path)
    assert kept.returncode == 0 and len(read_rows(board)[0]) == 2 * count
    long = cli("leaderboard", "show", "--long", "--json", "-l", str(board), cwd=tmp_path)
    assert len(json.loads(long.stdout)) == count  # the views still show one copy


def test_score_writes_leaderboard_rows_only_when_asked(tmp_path: Path, cli: Cli) -> None:
    (tmp_path / "o.jsonl").write_text(json.dumps({"id": "q1", "reference": "yes", "outputs": ["yes", "no"]}) + "\n")
    done = cli("score", "o.jsonl", "--metrics", "exact_match", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "data").exists() and "appended" not in done.stdout
    asked = cli("score", "o.jsonl", "--metrics", "exact_match", "-l", "lb.csv", cwd=tmp_path)
    assert asked.returncode == 0 and "appended 2 rows to lb.csv" in asked.stdout
    assert {r.model for r in read_rows(tmp_path / "lb.csv")[0]} == {"candidate-1", "candidate-2"}


def test_an_alias_and_its_folder_path_are_one_model(tmp_path: Path, cli: Cli) -> None:
    board = tmp_path / "lb.csv"
    fingerprint = "files-sha256-v2:5f1e"
    path = "/home/me/.cache/assay/models/smollm2-135m"
    append_rows([_row("smollm2-135m", "arc_easy", 0.46, "run-1", fingerprint),
                 _row(path, "arc_easy", 0.46, "run-2", fingerprint),
                 _row(path, "piqa", 0.66, "run-2", fingerprint),
                 _row("gemma3-270m", "arc_easy", 0.44, "run-3")], board)  # fmt: skip
    latest = json.loads(cli("leaderboard", "show", "--latest", "--json", "-l", str(board), cwd=tmp_path).stdout)
    assert sorted(r["model"] for r in latest) == ["gemma3-270m", "smollm2-135m"]
    text = " ".join(cli("leaderboard", "show", "-l", str(board), cwd=tmp_path).stdout.split())
    assert f"smollm2-135m is also recorded as {path} (the same model files): shown as one model" in text
    history = cli("leaderboard", "history", path, "-l", str(board), cwd=tmp_path)  # either name works
    assert history.returncode == 0 and "history of smollm2-135m (3 rows)" in history.stdout
