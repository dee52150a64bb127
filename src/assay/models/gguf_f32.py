"""Write a GGUF whose weights are the float32 de-quantization of a quantized GGUF (cached, once per file).

Why: llama.cpp multiplies quantized weights with activations it quantizes to 8 bits on the fly; on SmolLM2's
Q4_1 file that moves log-probabilities by about 0.1 nats per token against the same weights de-quantized to
float32 (which is what the hf backend computes with). With float32 weights llama.cpp keeps the activations
in float32 too, and both backends compute with the very same numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock

from assay.errors import DependencyError, ModelError


def dequantized_gguf(source: Path, folder: Path, digest: str) -> Path:
    """The float32 copy of `source` in `folder` (named by the source's sha256), written on first use."""
    target = folder / f"{digest[:24]}-f32.gguf"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=1800):
        if not target.exists():
            _write_f32(source, target)
    return target


def _write_f32(source: Path, target: Path) -> None:
    try:
        import gguf
        from gguf.quants import dequantize
    except ImportError as exc:
        raise DependencyError("precision=f32 needs the gguf package", hint="pip install gguf") from exc
    import numpy as np

    reader = gguf.GGUFReader(str(source))
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    partial = target.with_name(target.name + ".partial")
    writer = gguf.GGUFWriter(str(partial), arch)
    try:
        for field in reader.fields.values():
            # the writer adds the architecture and GGUF.* header fields itself
            if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF."):
                continue
            value = field.contents()
            if field.name == gguf.Keys.General.FILE_TYPE:
                value = int(gguf.LlamaFileType.ALL_F32)
            kind = field.types[0]
            sub = field.types[-1] if kind == gguf.GGUFValueType.ARRAY else None
            writer.add_key_value(field.name, value, kind, sub_type=sub)
        for tensor in reader.tensors:
            weights = np.asarray(dequantize(tensor.data, tensor.tensor_type), dtype=np.float32)
            writer.add_tensor(tensor.name, weights, raw_dtype=gguf.GGMLQuantizationType.F32)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
    except (ValueError, KeyError, NotImplementedError) as exc:
        raise ModelError(f"cannot de-quantize {source}: {exc}") from exc
    finally:
        writer.close()
    os.replace(partial, target)
