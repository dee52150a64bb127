"""Backend names and aliases -> Model objects. Backends are imported lazily: their dependencies are optional."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from assay.config import ModelSpec
from assay.errors import UnknownModelError, UsageError, did_you_mean
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


def _factory(backend: str) -> Any:
    module_name, factory_name = BACKENDS[backend].split(":")
    return getattr(importlib.import_module(module_name), factory_name)


def known_args(backend: str) -> set[str]:
    """The model args a backend takes: the keyword parameters of its constructors (or its `known_args`)."""
    factory = _factory(backend)
    declared = getattr(factory, "known_args", None)
    if declared is not None:
        return set(declared)
    names: set[str] = set()
    for cls in inspect.getmro(factory) if inspect.isclass(factory) else (factory,):
        init = cls.__init__ if inspect.isclass(cls) else cls
        if init is object.__init__:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self", "name"}


def check_spec(spec: ModelSpec) -> None:
    """Unknown backends and unknown model args fail here, before a model loads or a file is written."""
    backend, args, _ = resolve_spec(spec)
    known = known_args(backend)
    unknown = sorted(set(args) - known)
    if unknown:
        close = did_you_mean(unknown[0], known)
        raise UsageError(
            f"unknown {backend} model argument(s): {', '.join(unknown)}",
            hint=close or f"known: {', '.join(sorted(known))}",
        )


def load_model(spec: ModelSpec) -> Model:
    """Instantiate the backend for a ModelSpec (alias args first, user args override)."""
    backend, args, name = resolve_spec(spec)
    model: Model = _factory(backend)(name=name, **args)
    return model
