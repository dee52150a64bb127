"""`assay audit RUN` with the real runner and the real smollm2-135m model on a small copy of ARC-Easy.

The copy lives in a temp folder laid out like ../shared/data, so the test can change one row and check that
the audit names it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.audit.rerun import audit_run
from assay.config import ModelSpec, RunConfig

pytestmark = pytest.mark.integration
ARC = Path("allenai/ai2_arc/ARC-Easy/test.jsonl")
ROWS = 4


@pytest.fixture
def small_data(tmp_path: Path, data_dir: Path) -> Path:
    target = tmp_path / "data" / ARC
    target.parent.mkdir(parents=True)
    with (data_dir / ARC).open(encoding="utf-8") as fh:
        target.write_text("".join(next(fh) for _ in range(ROWS)), encoding="utf-8")
    return tmp_path / "data"


def test_unchanged_run_reproduces_and_a_changed_row_is_named(tmp_path: Path, small_data: Path) -> None:
    from assay.cli.main import app
    from assay.runner import run_evaluation

    config = RunConfig(
        models=(ModelSpec(model="smollm2-135m"),), tasks=("arc_easy",), limit=ROWS, data_dir=str(small_data),
        output=str(tmp_path / "runs"), leaderboard=str(tmp_path / "lb.csv"),
    )  # fmt: skip
    _, run_dir = run_evaluation(config, show_progress=False)

    # through the CLI: the recorded run reproduces, every request recomputed (the cache is never read)
    result = CliRunner().invoke(app, ["audit", str(run_dir), "-q", "--workdir", str(tmp_path / "audit1")])
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output and f"{4 * ROWS} requests computed, 0 from cache" in result.output
    assert "tolerance 0," in result.output  # same machine, fresh record: exact

    rows = (small_data / ARC).read_text(encoding="utf-8").splitlines()
    edited = json.loads(rows[2])
    edited["question"] += " Explain."
    rows[2] = json.dumps(edited)
    (small_data / ARC).write_text("\n".join(rows) + "\n", encoding="utf-8")

    changed = audit_run(run_dir, workdir=tmp_path / "audit2", show_progress=False)
    assert not changed.report.reproduced and changed.requests_cached == 0
    samples = [d for d in changed.report.differences if d.kind == "sample"]
    rows_changed = [d for d in samples if "row content changed" in d.detail]
    assert [d.where.split("/", 1)[1].rsplit("-", 1)[0] for d in rows_changed] == ["arc_easy/test/2"]
    assert rows_changed[0].cause == "data changed"
    # other rows may move by float noise only (their batch changed), and are blamed on that
    for other in (d for d in samples if d not in rows_changed):
        assert other.cause == "data changed in other rows (batching)", other
        assert other.detail.startswith("loglikelihood differs by up to") and ";" not in other.detail
    assert "data changed" in changed.report.causes
    # the audit leaves the user's leaderboard alone
    assert len((tmp_path / "lb.csv").read_text().splitlines()) == 1 + 2
