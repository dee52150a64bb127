"""What a judge run records about its models and its environment (for summary.json and the leaderboard)."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from typing import Any

from assay import __version__
from assay.config import ModelSpec
from assay.models.base import Model
from assay.models.registry import resolve_spec
from assay.records import ModelInfo


def model_info(spec: ModelSpec, model: Model) -> ModelInfo:
    """ModelInfo from the spec (backend and resolved args) and the loaded model (name, fingerprint)."""
    backend, args, _ = resolve_spec(spec)
    return ModelInfo(
        name=model.name,
        backend=backend,
        args=args,
        fingerprint=model.fingerprint,
        version=str(args.get("revision") or ""),
    )


def environment() -> dict[str, Any]:
    """Python, platform and the versions of the packages that shape the numbers."""
    versions = {}
    for package in ("torch", "transformers", "numpy", "scipy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "assay": __version__,
        "packages": versions,
    }


def git_sha() -> str:
    """The commit of the working directory, or "" outside a git checkout."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""
