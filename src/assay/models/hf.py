"""Hugging Face transformers backend: a local folder, a hub id (where the hub is reachable) or a GGUF file.

Model args (as on the command line, `--model-args pretrained=PATH,dtype=float32`):
    pretrained   folder, hub id, or folder holding `gguf_file`
    gguf_file    GGUF file name inside `pretrained` (weights are de-quantized by transformers)
    dtype        float32 (default) | bfloat16 | float16 | auto
    device       cpu (default; cuda when available and asked)
    batch_size   rows per forward pass, or "auto" (set by --batch-size)
    max_length   context window (default: the model config's)
    revision, trust_remote_code, add_bos_token
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay.errors import DependencyError, ModelError, UsageError
from assay.models.base import ModelDefaults, Progress
from assay.models.identity import identify
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    RollingRequest,
)

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


def _import_torch() -> Any:
    try:
        import torch
        import transformers
    except ImportError as exc:
        hint = "pip install 'assay[hf]'"
        raise DependencyError("the hf backend needs torch and transformers", hint=hint) from exc
    transformers.utils.logging.disable_progress_bar()  # assay shows its own progress; --quiet means quiet
    return torch


# every model argument HFModel takes (the CLI checks --model-args against it before anything is written)
ARGS = (
    "pretrained",
    "gguf_file",
    "dtype",
    "device",
    "batch_size",
    "max_length",
    "revision",
    "trust_remote_code",
    "add_bos_token",
)


def check_args(args: dict[str, Any]) -> None:
    """Reject what would fail at load time, before any work: unknown arguments, a missing pretrained folder or
    GGUF file, an unknown dtype, and a CUDA device on a machine without one."""
    unknown = sorted(set(args) - set(ARGS))
    if unknown:
        raise UsageError(f"unknown hf model argument(s): {', '.join(unknown)}", hint=f"known: {', '.join(ARGS)}")
    if "pretrained" not in args:
        raise UsageError("the hf backend needs pretrained=FOLDER (or a hub id)", hint="--model-args pretrained=DIR")
    check_pretrained(str(args["pretrained"]))
    dtype = str(args.get("dtype", "float32"))
    if dtype != "auto" and dtype not in _DTYPES:
        raise UsageError(f"unknown dtype {dtype!r}", hint="use float32, bfloat16, float16 or auto")
    gguf = args.get("gguf_file")
    if gguf is not None:
        path = Path(str(args["pretrained"])) / str(gguf)
        if not path.is_file():
            raise UsageError(f"GGUF file {path} does not exist", hint="gguf_file names a file inside pretrained")
        with path.open("rb") as fh:
            if fh.read(4) != b"GGUF":
                raise ModelError(f"{path} is not a GGUF file (no GGUF header)", hint="check the file")
    check_device(args.get("device"))


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")  # owner/name


def check_pretrained(pretrained: str) -> None:
    """A pretrained= that reads as a local path (starts with / . ~ or has a separator and is not `owner/name`)
    must be a folder: "no such folder", not the hub's complaint about a malformed repo id."""
    looks_local = pretrained.startswith(("/", ".", "~")) or (os.sep in pretrained and not _HUB_ID.match(pretrained))
    folder = Path(pretrained).expanduser()
    if not looks_local or folder.is_dir():
        return
    if folder.exists():
        raise UsageError(
            f"pretrained={pretrained} is a file, not a folder",
            hint="a GGUF file: pretrained=ITS_FOLDER,gguf_file=ITS_NAME (or --model llamacpp --model-args path=FILE)",
        )
    raise UsageError(
        f"no such folder: {pretrained}", hint="pretrained= is a local model folder (config.json + weights) or a hub id"
    )


def check_device(device: Any) -> None:
    """--device cuda on a machine without CUDA is a one-line error, not torch's assertion mid-load."""
    if device is None or device in ("cpu", "mps"):
        return
    if not str(device).startswith("cuda"):
        raise UsageError(f"unknown device {device!r}", hint="use cpu or cuda (cuda:N for device N)")
    torch = _import_torch()
    if not torch.cuda.is_available():
        raise UsageError(f"--device {device}: no CUDA device is available on this machine", hint="use --device cpu")



def hub_commit(pretrained: str, revision: str | None = None) -> str | None:
    """The hub commit a model's files were loaded from (a branch or tag `revision` resolved), else None.

    The hub cache keeps each commit's files under `snapshots/<commit>/`, which names it; a plain local folder
    has none.
    """
    from transformers.utils.hub import cached_file, extract_commit_hash

    folder = Path(pretrained)
    if folder.is_dir():
        return extract_commit_hash(str(folder.resolve() / "config.json"), None)
    try:
        config = cached_file(pretrained, "config.json", revision=revision)
    except OSError:
        return None
    return extract_commit_hash(str(config), None) if config else None

def _load(pretrained: str, dtype: str, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """(tokenizer, model) from a folder, hub id or GGUF file; any load failure is one ModelError."""
    torch = _import_torch()
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from assay.models.allocator import tune_allocator

    tune_allocator()  # large tensors reuse heap pages instead of a fresh mmap each (allocator.py)

    torch_dtype = "auto" if dtype == "auto" else getattr(torch, _DTYPES.get(dtype, dtype), None)
    if torch_dtype is None:
        raise ModelError(f"unknown dtype {dtype!r}", hint="use float32, bfloat16 or float16")
    try:
        tokenizer_cls: Any = AutoTokenizer  # transformers' stubs are narrower than its dynamic classes
        model_cls: Any = AutoModelForCausalLM
        tokenizer = tokenizer_cls.from_pretrained(pretrained, **kwargs)
        return tokenizer, model_cls.from_pretrained(pretrained, dtype=torch_dtype, **kwargs)
    except OSError as exc:
        hint = "give a local folder with config.json and weights, or a hub id"
        first_line = str(exc).splitlines()[0]
        raise ModelError(f"cannot load model {pretrained!r}: {first_line}", hint=hint) from exc
    except Exception as exc:  # a truncated or corrupt weight file fails deep inside the loaders, any type
        first_line = (str(exc).splitlines() or [""])[0]
        what = f"{pretrained}/{kwargs['gguf_file']}" if kwargs.get("gguf_file") else pretrained
        raise ModelError(
            f"cannot load model {what!r}: {type(exc).__name__}: {first_line}",
            hint="the weight files look damaged or truncated: download or convert them again",
        ) from exc


class HFModel(ModelDefaults):
    """transformers causal LM behind the batch-in/batch-out Model seam."""

    backend = "hf"

    def __init__(
        self,
        name: str,
        pretrained: str,
        dtype: str = "float32",
        device: str | None = None,
        batch_size: int | str = 8,
        max_length: int | None = None,
        gguf_file: str | None = None,
        revision: str | None = None,
        trust_remote_code: bool = False,
        add_bos_token: bool | None = None,
        **unknown: Any,
    ) -> None:
        check_args({"pretrained": pretrained, "dtype": dtype, "device": device, "gguf_file": gguf_file, **unknown})
        self.name = name
        self.device = device or "cpu"
        self.batch_size = batch_size
        self.stats: dict[str, int | float] = {"forward_tokens": 0, "forward_passes": 0, "padded_tokens": 0}
        kwargs: dict[str, Any] = {"revision": revision, "trust_remote_code": trust_remote_code}
        if gguf_file:
            kwargs["gguf_file"] = gguf_file
        self.tokenizer, self.model = _load(pretrained, dtype, kwargs)
        self.model.to(self.device).eval()
        if add_bos_token is not None:
            self.tokenizer.add_bos_token = add_bos_token
        # add_special_tokens for every encoding; None: the tokenizer's own default (generation: not for chat)
        self.add_special_tokens = add_bos_token
        cfg = self.model.config
        self.max_length: int = int(max_length or getattr(cfg, "max_position_embeddings", None) or 2048)
        self.pad_id = self.tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = self.tokenizer.eos_token_id or 0
        bos = self.tokenizer.bos_token_id
        self.prefix_id = bos if bos is not None else self.tokenizer.eos_token_id
        identity = identify("hf", {"pretrained": pretrained, "gguf_file": gguf_file, "revision": revision})
        self._fingerprint = identity.fingerprint
        self.version = identity.version
        from assay.models.hf_prefix import PrefixMemo

        self.prefix_memo = PrefixMemo()  # the last shared prefix's key/values, reused by the next call

    @property
    def fingerprint(self) -> str:
        return self._fingerprint

    def encode(self, text: str) -> list[int]:
        if self.add_special_tokens is None:
            return list(self.tokenizer.encode(text))
        return list(self.tokenizer.encode(text, add_special_tokens=self.add_special_tokens))

    def count(self, **amounts: int | float) -> None:
        """Add to the backend's counters (the helper modules that forward tokens for it report here)."""
        for key, amount in amounts.items():
            self.stats[key] = self.stats.get(key, 0) + amount

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        from assay.models.hf_score import encode_pair

        return self._score([encode_pair(self.encode, self.prefix_id, r) for r in requests], progress)

    def loglikelihood_rolling(
        self, requests: Sequence[RollingRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        """log P(text) of each whole text, summed over the windows rolling_windows cuts it into."""
        from assay.models.hf_score import rolling_windows

        windows = [rolling_windows(self.encode(r.text), self.prefix_id, self.max_length) for r in requests]
        flat = [w for ws in windows for w in ws]
        done = 0

        def per_window(n: int) -> None:  # progress counts texts, not windows
            nonlocal done
            done += n

        scored = iter(self._score(flat, per_window))
        out = []
        for ws in windows:
            parts = [next(scored) for _ in ws]
            out.append(LoglikelihoodResponse(logprob=sum(p.logprob for p in parts),
                                             is_greedy=all(p.is_greedy for p in parts),
                                             n_tokens=sum(p.n_tokens for p in parts)))  # fmt: skip
        if progress:
            progress(len(requests))
        return out

    def _score(self, encoded: Sequence[Any], progress: Progress | None) -> list[LoglikelihoodResponse]:
        """Loglikelihoods of (context, continuation) token pairs, packed and batched (see hf_score)."""
        from assay.models.hf_score import pack, score_rows

        rows = pack(encoded, self.max_length)
        batch = self._resolve_batch_size(rows)
        out: list[LoglikelihoodResponse | None] = [None] * len(encoded)

        def on_batch(results: list[tuple[int, LoglikelihoodResponse]], done: int) -> None:
            for index, response in results:
                out[index] = response
            self.stats["forward_passes"] += 1
            if progress:
                progress(done)

        self.stats["forward_tokens"] += score_rows(
            self.model, rows, batch, self.pad_id, self.device, on_batch, counters=self.stats, memo=self.prefix_memo
        )
        assert all(r is not None for r in out)
        return [r for r in out if r is not None]

    def _resolve_batch_size(self, rows: Sequence[Any]) -> int:
        if self.batch_size == "auto":
            from assay.models.hf_autobatch import fastest_batch_size

            self.batch_size = fastest_batch_size(self, rows)
        return int(self.batch_size)

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        from assay.models.hf_generate import generate

        return generate(self, requests, progress)

    def close(self) -> None:
        self.model = None  # frees the weights; the object is not used after close


def default_threads() -> None:
    """Use every core for torch on CPU unless the user said otherwise (OMP_NUM_THREADS)."""
    torch = _import_torch()
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(os.cpu_count() or 1)
