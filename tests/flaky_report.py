"""A pytest plugin for `make test`: names every test that failed and then passed on its rerun.

pytest-rerunfailures reruns a failed test (`--reruns 1`) and, when the rerun passes, counts it as passed; the
first failure shows only as an `R` in the progress line. This plugin ends the run with one line per such test,
`flaky (passed on rerun): <node id>`, and their count, so a flaky test is seen instead of hidden. Loaded with
`-p tests.flaky_report` (the Makefile does).
"""

from __future__ import annotations

import pytest


def rescued(stats: dict[str, list[object]]) -> list[str]:
    """Node ids that were rerun and whose last outcome is a pass (in the order they were first rerun)."""
    reran = list(dict.fromkeys(str(getattr(r, "nodeid", "")) for r in stats.get("rerun", [])))
    failed = {str(getattr(r, "nodeid", "")) for key in ("failed", "error") for r in stats.get(key, [])}
    passed = {str(getattr(r, "nodeid", "")) for r in stats.get("passed", [])}
    return [nodeid for nodeid in reran if nodeid in passed and nodeid not in failed]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    names = rescued(terminalreporter.stats)
    if not names:
        return
    terminalreporter.section("flaky tests", sep="=", yellow=True, bold=True)
    for nodeid in names:
        terminalreporter.write_line(f"flaky (passed on rerun): {nodeid}")
    terminalreporter.write_line(f"{len(names)} flaky test(s) passed only on their rerun", yellow=True, bold=True)
