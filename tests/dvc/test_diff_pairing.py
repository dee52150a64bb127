"""`assay dvc diff HEAD` says how many samples it paired of how many each revision scored: with 8 samples at HEAD
and 5 in the workspace, the metrics files differ by +0.55 while the paired delta over the 5 shared samples is
+0.4, and the output says so (issue 26: it showed a delta that disagreed with `dvc metrics diff` silently)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assay.dvc.diff import diff_folders, pairing_notes, rows
from tests.conftest import assay_cmd
from tests.dvc.conftest import sh
from tests.tracking.runfolders import write_run


def test_diff_head_says_how_many_samples_it_paired(repo: Path) -> None:
    write_run(repo / "runs", run_id="m-arc_easy", n=8, accuracy=0.25)  # samples 0-1 right
    sh("git", "add", "runs", cwd=repo)
    sh("git", "commit", "-q", "-m", "8 samples", cwd=repo)
    shutil.rmtree(repo / "runs" / "m-arc_easy")
    write_run(repo / "runs", run_id="m-arc_easy", n=5, accuracy=0.8)  # samples 0-3 right
    metrics = json.loads((repo / "runs" / "m-arc_easy" / "metrics.json").read_text())
    assert metrics == {"smollm2-135m/arc_easy/acc": 0.8}  # dvc metrics diff: 0.25 -> 0.8

    done = sh(*assay_cmd("dvc", "diff", "HEAD"), cwd=repo)
    text = " ".join(done.stdout.split())
    assert "paired 5 samples of 8 in HEAD and 5 in workspace" in text, done.stdout
    assert "over the 5 paired only" in text
    assert "5 of 8/5" in text  # the table's paired column
    # HEAD's first 5: 2 right (0.4); the workspace: 4 of 5 (0.8): delta +0.4 over the paired samples
    assert "HEAD 0.4 workspace 0.8 delta 0.4" in text, done.stdout


def test_fully_paired_runs_say_so(tmp_path: Path) -> None:
    for root in ("a", "b"):
        write_run(tmp_path / root, run_id="m-piqa", n=6)
    result = diff_folders(tmp_path / "a", tmp_path / "b", "HEAD", "workspace")
    (pairing,) = result.stages[0].pairings
    assert (pairing.paired, pairing.in_a, pairing.in_b, pairing.complete) == (6, 6, 6, True)
    assert pairing_notes(result) == ["every sample paired: both revisions scored the same samples (6 per task)"]
    assert rows(result)[1][0][3] == "6"
