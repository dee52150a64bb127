"""`a=1,b=x,c=true` text (lm-evaluation-harness's --model_args form) into typed values: the command line's
model and generation arguments, and the model arguments a DVC pipeline keeps in dvc.yaml."""

from __future__ import annotations

from typing import Any

from assay.errors import UsageError


def parse_kv(text: str | None, what: str = "model argument", hint: str = "e.g. dtype=float32") -> dict[str, Any]:
    """Parse `a=1,b=x,c=true` (lm-evaluation-harness's --model_args form) into typed values; a part without
    `=` is a one-line error starting with `what`."""
    out: dict[str, Any] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise UsageError(f"{what} {part!r} is not of the form key=value", hint=hint)
        key, value = part.split("=", 1)
        out[key.strip()] = coerce(value.strip())
    return out


def coerce(value: str) -> Any:
    """'true' -> True, '3' -> 3, '0.5' -> 0.5, anything else stays a string."""
    low = value.lower()
    if low in {"true", "false"}:
        return low == "true"
    if low in {"none", "null"}:
        return None
    for cast in (int, float):
        try:
            return cast(value)
        except ValueError:
            pass
    return value
