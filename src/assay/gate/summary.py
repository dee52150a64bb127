"""The gate's Markdown summary, for a CI job page ($GITHUB_STEP_SUMMARY) or a pull-request comment."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from assay.gate.decide import GateResult, status, worse_by
from assay.gate.resolve import Side
from assay.runs.layout import write_json_atomic

ICONS = {
    "regression": "❌",
    "improvement": "✅",
    "worse, within min delta": "⚠️",
    "no significant difference": "➖",
}


def _f(x: float, digits: int = 4) -> str:
    return "nan" if math.isnan(x) else f"{x:.{digits}f}"


def _p(x: float) -> str:
    return "nan" if math.isnan(x) else (f"{x:.2e}" if 0 < x < 1e-3 else f"{x:.4f}")


def markdown(result: GateResult, candidate: Side, baseline: Side) -> str:
    """Verdict line, what was compared, the regressions by name, and the full table."""
    lines = [f"## assay gate: {'❌' if result.exit_code else '✅'} {result.verdict}", ""]
    if result.comparisons:
        c = result.comparisons[0]
        lines += [
            f"- candidate: `{c.model_a}` (run `{c.run_a}`, {candidate.origin})",
            f"- baseline: `{c.model_b}` (run `{c.run_b}`, {baseline.origin})",
        ]
    lines += [
        f"- rule: fail when the baseline is better with Holm-adjusted p < {result.alpha} across all "
        f"{len(result.comparisons)} task x metric comparisons AND the drop exceeds {result.min_delta}",
        "",
    ]
    if result.regressions:
        lines.append("### Regressions")
        for c in result.regressions:
            lines.append(
                f"- **{c.task} / {c.metric}**: {_f(c.mean_b)} → {_f(c.mean_a)} (Δ {c.difference:+.4f}, "
                f"{round(c.confidence * 100)}% CI [{c.ci_low:+.4f}, {c.ci_high:+.4f}], {c.test}, "
                f"p = {_p(c.p_value)}, Holm p = {_p(c.p_adjusted)}, n = {c.n})"
            )
        lines.append("")
    header = ["task", "metric", "n", "baseline", "candidate", "Δ", "CI", "test", "p", "p (Holm)", "status"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for c in sorted(result.comparisons, key=lambda c: (-worse_by(c), c.task, c.metric)):
        st = status(c, result.min_delta)
        ci = f"[{c.ci_low:+.4f}, {c.ci_high:+.4f}]"
        cells = [
            c.task, c.metric, str(c.n), _f(c.mean_b), _f(c.mean_a), f"{c.difference:+.4f}",
            ci, c.test, _p(c.p_value), _p(c.p_adjusted), f"{ICONS[st]} {st}",
        ]  # fmt: skip
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    unpaired = sum(c.unpaired for c in result.comparisons)
    if unpaired:
        lines += ["", f"{unpaired} sample score(s) present on one side only were left out of the pairs."]
    return "\n".join(lines) + "\n"


def write_summary(path: Path, text: str) -> None:
    """Write the Markdown in one step (a reader never sees half of it)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json(path: Path, result: GateResult, candidate: Side, baseline: Side) -> None:
    """The decision and every comparison as JSON, for tools that read the gate's outcome."""
    data: dict[str, Any] = {
        "verdict": result.verdict,
        "exit_code": result.exit_code,
        "alpha": result.alpha,
        "min_delta": result.min_delta,
        "candidate": {"run_dir": str(candidate.run_dir), "origin": candidate.origin},
        "baseline": {"run_dir": str(baseline.run_dir), "origin": baseline.origin},
        "comparisons": [{**c.to_json(), "status": status(c, result.min_delta)} for c in result.comparisons],
    }
    write_json_atomic(path, json.loads(json.dumps(data, default=str)))
