"""The request kinds, in one table: what each asks of a model and how its answers are kept.

Every stage that handles requests reads this table instead of branching on request types: units.py groups
requests by what they share and sizes them, local.py (and every Ray worker) asks the model, the response cache
and journal (models/cache.py) store and read the answers. A new kind is one more row here, its request and
response records in records.py, and the Model method that answers it.

    KIND["rolling"].answer(model, requests)      # -> the model's responses, one per request
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from assay.models.base import Model, Progress
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Request,
    Response,
    RollingRequest,
)

Kind = Literal["loglikelihood", "generate", "rolling"]


@dataclass(frozen=True)
class KindSpec:
    """One request kind: its request record, the model method that answers it, and what its requests share."""

    name: Kind
    request: type
    answer: Callable[[Model, Sequence[Any], Progress | None], Sequence[Response]]
    shared: Callable[[Any], str]  # consecutive requests with the same value form a prefix group
    cost: Callable[[Any], int]  # characters a backend reads: schedule the largest units first


def _generation_cost(req: GenerationRequest) -> int:
    return (len(req.prompt) + req.max_tokens) * req.n


# the order a run computes them in: scoring first, generation (the slow kind) last
TABLE: tuple[KindSpec, ...] = (
    KindSpec("loglikelihood", LoglikelihoodRequest, lambda m, r, p: m.loglikelihood(r, p),
             lambda r: r.context, lambda r: len(r.context) + len(r.continuation)),
    # a backend without rolling scoring raises ModelError (assay.models.base.ModelDefaults)
    KindSpec("rolling", RollingRequest, lambda m, r, p: m.loglikelihood_rolling(r, p),
             lambda r: r.text, lambda r: len(r.text)),
    KindSpec("generate", GenerationRequest, lambda m, r, p: m.generate(r, p),
             lambda r: r.prompt, _generation_cost),
)  # fmt: skip
KIND: dict[Kind, KindSpec] = {spec.name: spec for spec in TABLE}
KINDS: tuple[Kind, ...] = tuple(spec.name for spec in TABLE)


def kind_of(request: Request) -> KindSpec:
    """The table row of a request record."""
    for spec in TABLE:
        if isinstance(request, spec.request):
            return spec
    raise TypeError(f"not a request record: {type(request).__name__}")


# ------------------------------------------------------------------------------------------ answers kept
# Responses are stored as compact JSON tagged by their record type (the tags of the first cache format, so
# caches and journals written before stay readable). Rolling requests are answered by LoglikelihoodResponse.


@dataclass(frozen=True)
class ResponseCodec:
    tag: str  # the key only this record's JSON has
    record: type
    dump: Callable[[Any], dict[str, Any]]
    load: Callable[[dict[str, Any]], Response]


CODECS: tuple[ResponseCodec, ...] = (
    ResponseCodec("lp", LoglikelihoodResponse,
                  lambda r: {"lp": r.logprob, "g": r.is_greedy, "n": r.n_tokens},
                  lambda d: LoglikelihoodResponse(logprob=float(d["lp"]), is_greedy=bool(d["g"]),
                                                  n_tokens=int(d["n"]))),
    ResponseCodec("t", GenerationResponse,
                  lambda r: {"t": list(r.texts), "f": list(r.finish_reasons), "n": list(r.n_tokens)},
                  lambda d: GenerationResponse(texts=tuple(d["t"]), finish_reasons=tuple(d["f"]),
                                               n_tokens=tuple(d["n"]))),
)  # fmt: skip


def dump_response(response: Response) -> str:
    for codec in CODECS:
        if isinstance(response, codec.record):
            return json.dumps(codec.dump(response))
    raise TypeError(f"not a response record: {type(response).__name__}")


def load_response(text: str) -> Response:
    data = json.loads(text)
    for codec in CODECS:
        if codec.tag in data:
            return codec.load(data)
    raise ValueError(f"not a stored response: {text[:80]!r}")
