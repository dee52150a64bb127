"""The malloc settings applied before a model loads (models/allocator.py): large tensors freed and allocated
again reuse the heap's pages instead of faulting in fresh ones; ASSAY_MALLOC_TUNING=0 leaves malloc alone."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

PROBE = """
import resource, torch
from assay.models.allocator import tune_allocator
tuned = tune_allocator()
for _ in range(5):
    torch.ones(16 << 20).sum()  # 64 MB, freed at once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    torch.ones(16 << 20).sum()
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(tuning: str) -> tuple[bool, int]:
    env = {**os.environ, "ASSAY_MALLOC_TUNING": tuning}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True).stdout
    tuned, faults = out.split()
    return tuned == "True", int(faults)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the settings are glibc's mallopt")
def test_large_tensors_reuse_pages_once_tuned() -> None:
    plain_tuned, plain = _faults("0")
    tuned, faults = _faults("1")
    assert (plain_tuned, tuned) == (False, True)
    assert plain > 40 * 16_000  # every 64 MB tensor is 16,384 fresh 4 KB pages without the settings
    assert faults < plain / 10, (faults, plain)
