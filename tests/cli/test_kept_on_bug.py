"""A command that fails with a bug in assay (exit 1) keeps what it finished and names it, as an interrupt
does: the unfinished run folder and the exact command that continues it; that command then finishes the run.

The bug is the fake backend's `raise_after`: a RuntimeError (not an AssayError) in the middle of a run.
"""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import Cli


def test_internal_error_names_the_partial_run_and_its_resume(
    cli: Cli, data_dir: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_CHUNK_SIZE", "8")  # units of 8 requests are journaled before the bug at 50
    done = cli("run", "--model", "fake", "--model-args", "raise_after=50", "--tasks", "arc_easy", "--limit", "30",
               "--data-dir", str(data_dir), "--no-leaderboard", "--no-cache", "--quiet")  # fmt: skip
    assert done.code == 1, done.err
    [partial] = (cli.work / "runs").glob("*.partial")
    error, hint = [line for line in done.err.splitlines() if line.strip()]
    assert error == "error: internal error: RuntimeError: fake backend: simulated bug after 50 requests"
    assert hint.startswith("hint: this is a bug in assay; rerun with --debug")
    assert f"keeps every finished result in runs/{partial.name}" in hint
    resume = hint.split("continue with: assay ")[1]
    assert resume == f"run --resume runs/{partial.name}"

    # the config keeps the bug, so the resumed run meets it again (after 50 more requests): still named
    again = cli(*resume.split(), "--quiet")
    assert again.code == 1 and again.err.rstrip().endswith(resume), again.err
    # with the bug gone (the saved config edited), the same command finishes the run from what was kept
    config = json.loads((partial / "config.json").read_text())
    config["models"][0]["args"] = {}
    (partial / "config.json").write_text(json.dumps(config))
    finished = cli(*resume.split(), "--quiet")
    assert finished.code == 0, finished.err
    final = partial.with_name(partial.name.removesuffix(".partial"))
    stats = json.loads((final / "summary.json").read_text())["stats"]["fake"]
    assert stats["requests_computed"] + stats["requests_cached"] == 120
    assert 0 < stats["requests_computed"] <= 120 - 96  # the two failed attempts journaled 48 each (units of 8)
