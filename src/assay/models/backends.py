"""Backend names and aliases -> Model objects. Backends are imported lazily: their dependencies are optional."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any, Protocol

from assay.config import ModelSpec
from assay.errors import UnknownModelError, UsageError, did_you_mean
from assay.models.aliases import ALIASES
from assay.models.base import Model
from assay.records import ModelInfo

# backend name -> "module:factory"; the factory takes (name, **args) and returns a Model
BACKENDS: dict[str, str] = {
    "hf": "assay.models.hf:HFModel",
    "openai-completions": "assay.models.openai:OpenAICompletionsModel",
    "openai-chat": "assay.models.openai:OpenAIChatModel",
    "llamacpp": "assay.models.llamacpp:LlamaCppModel",
    "fake": "assay.testing.fake:FakeModel",  # deterministic, loads nothing: tests and simulated scale
}


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do beyond the model seam, for the code that composes a run; a backend absent from
    CAPABILITIES can do none of it."""

    run_options: tuple[str, ...] = ()  # the run's own options it takes as model args (--batch-size, --device)
    check_args: str = ""  # "module:function" that checks its args before it loads (files, dtype, device)


CAPABILITIES: dict[str, Capabilities] = {
    "hf": Capabilities(run_options=("batch_size", "device"), check_args="assay.models.hf:check_args"),
}


def capabilities(backend: str) -> Capabilities:
    return CAPABILITIES.get(backend, Capabilities())


def check_args(backend: str, args: dict[str, Any]) -> None:
    """The backend's own check of `args` before it loads, when it has one (a UsageError on the first problem)."""
    ref = capabilities(backend).check_args
    if ref:
        module_name, function = ref.split(":")
        getattr(importlib.import_module(module_name), function)(args)


# registered so that tests and benches can run the whole pipeline with `--model fake`; not for evaluating a model
TESTING_BACKENDS: dict[str, str] = {"fake": "answers derived from hashes, loads no model (tests and benches)"}


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
        raise UnknownModelError(
            f"{spec.model}: a registry URI is resolved by the command that evaluates it, not by the backend table",
            hint="use `assay run --model models:/Name@alias` (assay.runner.concrete_spec resolves it)",
        )
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


class Identified(Protocol):
    """What model_info needs of a loaded model (a backend, or the LoadedModel an executor carries)."""

    @property
    def name(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    @property
    def version(self) -> str: ...


def model_info(backend: str, args: dict[str, Any], model: Identified, name: str | None = None) -> ModelInfo:
    """What a run records about a loaded model; the one place a ModelInfo is built.

    `model` is the backend itself (or the identity an executor carries), not a cache wrapped around it: the fingerprint
    is the backend's identity (assay.models.identity), the files digest that of the files it loaded; the version
    is the model's own `version`, else the `revision` arg; the name is `name`, else the model's own.
    """
    version = model.version or args.get("revision") or ""
    display = name or model.name or backend
    return ModelInfo(
        name=display, backend=backend, args=args, fingerprint=model.fingerprint, version=str(version),
        files_digest=local_files_digest(backend, args),
    )  # fmt: skip


def local_files_digest(backend: str, args: dict[str, Any]) -> str:
    """The files digest of the checkpoint `backend` loads with `args`, when its files are on this machine
    (a Ray driver may not have them; a hub id or a server has none here): "" otherwise."""
    from assay.models.identity import files_digest, local_files

    path = local_files(backend, args)
    if path is None:
        return ""
    try:
        return files_digest(path)
    except UsageError:  # a folder without model files: the backend itself says so when it loads
        return ""
