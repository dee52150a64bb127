"""`make test`'s rerun report: a test that passes only on its rerun is named at the end, and counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FLAKY = """
from pathlib import Path

def test_passes_on_its_rerun():
    mark = Path(__file__).with_name("mark")
    if not mark.exists():
        mark.write_text("failed once")
        raise AssertionError("the first try fails")

def test_fails_twice():
    assert False

def test_passes():
    pass
"""


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    """pytest as `make test` runs it (one rerun, this plugin) on the test file in `folder`."""
    args = ["-q", "-p", "no:cacheprovider", "--reruns", "1", "-p", "tests.flaky_report", "--rootdir", str(folder)]
    return subprocess.run([sys.executable, "-m", "pytest", *args, str(folder / "test_sample.py")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip


def test_a_test_rescued_by_its_rerun_is_named_and_counted(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(FLAKY)
    done = _pytest(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr  # test_fails_twice still fails
    lines = done.stdout.splitlines()
    flaky = [line for line in lines if line.startswith("flaky (passed on rerun): ")]
    assert flaky == ["flaky (passed on rerun): test_sample.py::test_passes_on_its_rerun"], done.stdout
    assert "1 flaky test(s) passed only on their rerun" in lines


def test_a_run_without_reruns_prints_no_flaky_section(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text("def test_passes():\n    pass\n")
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "flaky" not in done.stdout
