"""The example GitHub Actions workflow stays in step with the CLI: each option it uses exists."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from typer.main import get_command

from assay.cli.main import app

WORKFLOW = Path(__file__).resolve().parents[2] / ".github" / "workflows" / "assay-gate.yml"


def _gate_options() -> set[str]:
    command = get_command(app).commands["gate"]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts}


def test_workflow_gate_step_uses_real_options() -> None:
    data = yaml.safe_load(WORKFLOW.read_text())
    steps = data["jobs"]["gate"]["steps"]
    script = next(s["run"] for s in steps if "assay gate" in s.get("run", ""))
    used = set(re.findall(r"(--[a-z][a-z-]+)", script))
    assert {"--candidate", "--baseline", "--tasks", "--summary", "--min-delta"} <= used
    unknown = used - _gate_options()
    assert not unknown, f"the workflow passes options assay gate does not have: {sorted(unknown)}"
    assert "$GITHUB_STEP_SUMMARY" in script
