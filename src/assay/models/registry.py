"""Backend names and aliases -> Model objects. Backends are imported lazily: their dependencies are optional."""

from __future__ import annotations

import importlib
from typing import Any

from assay.config import ModelSpec
from assay.errors import UnknownModelError, did_you_mean
from assay.models.aliases import ALIASES
from assay.models.base import Model

# backend name -> "module:factory"; the factory takes (name, **args) and returns a Model
BACKENDS: dict[str, str] = {
    "hf": "assay.models.hf:HFModel",
    "openai-completions": "assay.models.openai:OpenAICompletionsModel",
    "openai-chat": "assay.models.openai:OpenAIChatModel",
    "llamacpp": "assay.models.llamacpp:LlamaCppModel",
    "fake": "assay.testing.fake:FakeModel",  # deterministic, loads nothing: tests and simulated scale
}


def known_models() -> list[str]:
    return sorted(BACKENDS) + sorted(ALIASES)


def resolve_spec(spec: ModelSpec) -> tuple[str, dict[str, Any], str]:
    """(backend, args, display name) for a backend name or an alias; aliases supply preset args."""
    if spec.model in ALIASES:
        alias = ALIASES[spec.model]
        args = {**alias.preset_args(), **spec.args}
        return alias.backend, args, spec.name or spec.model
    if spec.model in BACKENDS:
        default_name = str(
            spec.args.get("pretrained") or spec.args.get("model") or spec.args.get("path") or ""
        )
        return spec.model, dict(spec.args), spec.name or default_name or spec.model
    if spec.model.startswith("models:/"):
        from assay.tracking.model_registry import resolve_registry_uri  # registry versions name a model too

        return resolve_spec(resolve_registry_uri(spec))
    raise UnknownModelError(
        f"unknown model {spec.model!r}",
        hint=did_you_mean(spec.model, known_models()) or f"known: {', '.join(known_models())}",
    )


def load_model(spec: ModelSpec) -> Model:
    """Instantiate the backend for a ModelSpec (alias args first, user args override)."""
    backend, args, name = resolve_spec(spec)
    module_name, factory_name = BACKENDS[backend].split(":")
    module = importlib.import_module(module_name)
    factory = getattr(module, factory_name)
    model: Model = factory(name=name, **args)
    return model
