"""Where full isolation is unavailable the sandbox still gives right verdicts, and says so exactly once.

Simulated by running the harness inside a user namespace that maps only root: namespaces still work there,
but no unprivileged uid exists to switch to.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from .helpers import needs_root

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180), needs_root]

SCRIPT = textwrap.dedent(
    """
    import os
    from assay.sandbox import Check, Job, ProcessSandbox, isolation

    isolation.unshare(0x10000000)  # CLONE_NEWUSER
    for name, text in (("setgroups", "deny"), ("uid_map", "0 0 1"), ("gid_map", "0 0 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)
    check = Check(tests=("assert solve(3) == 9",), remote=("solve",))
    right = Job(program="def solve(x):\\n    return x * x\\n", check=check)
    wrong = Job(program="def solve(x):\\n    return x + x\\n", check=check)
    for _ in range(2):  # two sandboxes, one warning
        with ProcessSandbox(workers=1) as box:
            print([o.status for o in box.run_batch([right, wrong])])
    """
)


def test_degraded_mode_warns_once_and_still_checks():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["['passed', 'failed']"] * 2
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "degraded" in warnings[0], proc.stderr
