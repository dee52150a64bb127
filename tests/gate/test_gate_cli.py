"""`assay gate` on run folders: exit codes, Holm across tasks x metrics, min delta, the Markdown summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.gate.conftest import Result
from tests.leaderboard.runfactory import write_run

BASE, CAND = "20261101-120000-aaaaaa", "20261102-120000-bbbbbb"
PATTERN = [1, 1, 1, 0] * 25  # 100 samples, 75% right


def lose(pattern: list[int], k: int) -> list[int]:
    """The pattern with its first k right answers turned wrong (k paired losses, no gains)."""
    out, left = list(pattern), k
    for i, v in enumerate(out):
        if v and left:
            out[i], left = 0, left - 1
    return out


def runs(tmp_path: Path, base: dict[str, list[int]], cand: dict[str, list[int]]) -> None:
    write_run(tmp_path / "runs", BASE, "2026-11-01T12:00:00+00:00", {("smol", t): v for t, v in base.items()})
    write_run(tmp_path / "runs", CAND, "2026-11-02T12:00:00+00:00", {("ckpt", t): v for t, v in cand.items()})


def test_unchanged_passes_and_writes_summary(tmp_path: Path, gate: Callable[..., Result]) -> None:
    runs(tmp_path, {"arc_easy": PATTERN}, {"arc_easy": PATTERN})
    res = gate("--candidate", CAND, "--baseline", BASE, "--summary", "gate.md", "--json", "gate.json")
    assert res.returncode == 0, res.stderr
    md = (tmp_path / "gate.md").read_text()
    assert md.startswith("## assay gate: ✅ PASS") and "| arc_easy | acc | 100 |" in md
    data = json.loads((tmp_path / "gate.json").read_text())
    assert data["exit_code"] == 0 and {c["status"] for c in data["comparisons"]} == {
        "no significant difference"
    }


def test_real_drop_fails_and_summary_names_it(tmp_path: Path, gate: Callable[..., Result]) -> None:
    runs(tmp_path, {"arc_easy": PATTERN, "piqa": PATTERN}, {"arc_easy": lose(PATTERN, 20), "piqa": PATTERN})
    res = gate("--candidate", CAND, "--baseline", str(tmp_path / "runs" / BASE), "--summary", "gate.md")
    assert res.returncode == 1, res.stdout + res.stderr
    md = (tmp_path / "gate.md").read_text()
    assert "❌ FAIL: significant regression on arc_easy/acc, arc_easy/acc_norm" in md
    assert "- **arc_easy / acc**: 0.7500 → 0.5500 (Δ -0.2000" in md
    assert "piqa" in md and "piqa / acc" not in md.split("### Regressions")[1].split("|")[0]


def test_min_delta_tolerates_small_significant_drop(tmp_path: Path, gate: Callable[..., Result]) -> None:
    runs(tmp_path, {"arc_easy": PATTERN}, {"arc_easy": lose(PATTERN, 20)})
    res = gate("--candidate", CAND, "--baseline", BASE, "--min-delta", "0.25", "--json", "g.json")
    assert res.returncode == 0, res.stdout
    statuses = {c["status"] for c in json.loads((tmp_path / "g.json").read_text())["comparisons"]}
    assert statuses == {"worse, within min delta"}


def test_holm_correction_across_comparisons(tmp_path: Path, gate: Callable[..., Result]) -> None:
    # 6 losses, no gains: McNemar p = 2 * 0.5**6 = 0.031 < 0.05 alone, but Holm over acc and acc_norm
    # (both 0.031) gives 0.0625, so the gate passes; 8 losses (p = 0.0078, Holm 0.0156) fail it
    runs(tmp_path, {"arc_easy": PATTERN}, {"arc_easy": lose(PATTERN, 6)})
    res = gate("--candidate", CAND, "--baseline", BASE, "--json", "g.json")
    comps = json.loads((tmp_path / "g.json").read_text())["comparisons"]
    assert res.returncode == 0 and all(0.03 < c["p_value"] < 0.032 and c["p_adjusted"] > 0.06 for c in comps)
    runs(tmp_path, {"arc_easy": PATTERN}, {"arc_easy": lose(PATTERN, 8)})
    assert gate("--candidate", CAND, "--baseline", BASE).returncode == 1


def test_improvement_passes(tmp_path: Path, gate: Callable[..., Result]) -> None:
    runs(tmp_path, {"arc_easy": lose(PATTERN, 30)}, {"arc_easy": PATTERN})
    res = gate("--candidate", CAND, "--baseline", BASE, "--summary", "gate.md")
    assert res.returncode == 0 and "✅ improvement" in (tmp_path / "gate.md").read_text()


def test_usage_errors_exit_2(tmp_path: Path, gate: Callable[..., Result]) -> None:
    write_run(tmp_path / "runs", BASE, "2026-11-01T12:00:00+00:00", {("smol", "arc_easy"): PATTERN})
    # same task name, different sample ids: nothing to pair
    other = write_run(tmp_path / "other", CAND, "2026-11-02T12:00:00+00:00", {("ckpt", "arc_easy"): PATTERN})
    for line in (other / "samples" / "ckpt_arc_easy.jsonl").read_text().splitlines():
        assert "arc_easy/test/" in line
    text = (
        (other / "samples" / "ckpt_arc_easy.jsonl").read_text().replace("arc_easy/test/", "arc_easy/train/")
    )
    (other / "samples" / "ckpt_arc_easy.jsonl").write_text(text)
    res = gate("--candidate", str(other), "--baseline", BASE, "--summary", "gate.md")
    assert res.returncode == 2 and "share no sample ids" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "gate.md").exists()  # nothing half-written
    res = gate("--candidate", "no-such-model", "--baseline", BASE)
    assert res.returncode == 2 and "neither a run" in res.stderr
    res = gate("--candidate", BASE, "--baseline", "20261231-000000-ffffff")
    assert res.returncode == 2 and "baseline '20261231-000000-ffffff' is not a run" in res.stderr
    res = gate("--candidate", BASE, "--baseline", BASE, "--tasks", "arc_eazy")
    assert res.returncode == 2 and "did you mean 'arc_easy'" in res.stderr
    res = gate("--candidate", "smollm2-135m", "--baseline", BASE)
    assert res.returncode == 2 and "--tasks is needed" in res.stderr
