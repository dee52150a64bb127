"""What a judge run records about each model it used (summary.json and the leaderboard)."""

from __future__ import annotations

from assay.config import ModelSpec
from assay.models.base import Model
from assay.models.registry import resolve_spec
from assay.records import ModelInfo


def model_info(spec: ModelSpec, model: Model) -> ModelInfo:
    """ModelInfo from the spec (backend and resolved args) and the loaded model (name, fingerprint)."""
    backend, args, _ = resolve_spec(spec)
    return ModelInfo(name=model.name, backend=backend, args=args, fingerprint=model.fingerprint,
                     version=str(getattr(model, "version", "") or args.get("revision") or ""))  # fmt: skip
