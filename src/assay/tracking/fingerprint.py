"""The fingerprint a run or registry version records for a checkpoint: assay.models.identity's one algorithm.

Kept as the tracking layer's name for it; digests recorded by older versions are checked with `matches`.
"""

from __future__ import annotations

from pathlib import Path

from assay.models.identity import file_sha256, fingerprint, matches, model_files

__all__ = ["backend_fingerprint", "file_sha256", "matches", "model_files", "model_fingerprint"]


def model_fingerprint(path: str | Path) -> str:
    """`files-sha256-v2:<hex>` of a checkpoint folder or file."""
    return fingerprint(Path(path))


def backend_fingerprint(backend: str, path: str | Path) -> str:
    """What a run of `backend` on these files records as ModelInfo.fingerprint (the same for every backend)."""
    return fingerprint(Path(path))
