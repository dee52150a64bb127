"""The frozen records that flow one way through an evaluation.

    dataset rows -> Sample -> Request -> Response -> SampleResult (with Scores) -> TaskResult -> RunRecord

Every stage is a function that takes records of the stage before and returns new ones; nobody writes into a
record made by another stage. The runner (assay.runner) is the one place that composes the stages.

The records a run folder holds (RunRecord in summary.json, SampleResult per line of samples/*.jsonl) round-trip:
`to_json()` writes them, `from_json()` reads them back validated and typed. `SCHEMA_VERSION` is the run-folder
format; a summary without one is version 1 (same fields, fewer of them) and reads the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

JSON = dict[str, Any]

SCHEMA_VERSION = 2  # the run-folder format written by this version of assay (1: before it was recorded)


class RecordError(ValueError):
    """A JSON document that is not a valid record (raised by from_json; runs/ names the file)."""


def _validated(cls: type[Any], data: Any) -> Any:
    """Build a record dataclass from JSON data, checking types (lists become tuples, nested records built)."""
    from pydantic import TypeAdapter, ValidationError  # lazily: records are imported by every module

    adapter = _ADAPTERS.get(cls)
    if adapter is None:
        adapter = _ADAPTERS[cls] = TypeAdapter(cls)
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RecordError(f"{where}: {first['msg']}") from None


_ADAPTERS: dict[type[Any], Any] = {}


def stable_hash(obj: Any, length: int = 16) -> str:
    """sha256 of the canonical JSON of `obj`, truncated: used for cache keys and sample ids."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# ---------------------------------------------------------------------------------------------- samples


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One benchmark item, rendered: what the model is asked and what counts as right.

    For multiple-choice tasks `contexts[i]` + `continuations[i]` is the text scored for choice i (most tasks
    share one context; WinoGrande's partial scoring has one context per choice and one shared continuation).
    For generative tasks `prompt` is the text to continue and `target` the reference answer(s).
    """

    sample_id: str  # "<task>/<split>/<row index>-<hash of the row's content>", stable across runs
    task: str
    index: int  # row index in the evaluation split
    doc: JSON  # the source row (after the task's process_docs hook)
    prompt: str  # the full prompt (few-shot examples included); for MC, the shared context
    contexts: tuple[str, ...] = ()  # MC: the exact context string scored for each choice
    continuations: tuple[str, ...] = ()  # MC: the exact continuation string scored for each choice
    choices: tuple[str, ...] = ()  # MC: the answer options as shown (acc_norm divides by their length)
    target: int | str | tuple[str, ...] = ""  # MC: index of the right choice; generative: reference(s)
    metadata: JSON = field(default_factory=dict)  # task-specific extras (entry point, tests, category, ...)


# --------------------------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True, kw_only=True)
class LoglikelihoodRequest:
    """log P(continuation | context), summed over the continuation's tokens."""

    context: str
    continuation: str

    def key(self) -> str:
        return stable_hash({"kind": "ll", "c": self.context, "x": self.continuation}, 32)


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationRequest:
    """Continue `prompt` (or a chat `messages` list) until a stop sequence or `max_tokens`.

    `n` samples per prompt; temperature 0 means greedy (then n must be 1 for distinct outputs).
    `seed` makes sampled generation reproducible: the same request with the same seed gives the same texts.
    """

    prompt: str
    messages: tuple[tuple[str, str], ...] = ()  # (role, content) pairs; used when chat is True
    chat: bool = False
    stop: tuple[str, ...] = ()
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    n: int = 1
    seed: int | None = None

    def key(self) -> str:
        return stable_hash({"kind": "gen", **asdict(self)}, 32)


@dataclass(frozen=True, slots=True, kw_only=True)
class RollingRequest:
    """log P(text) of a whole text, from its first token on, scored in windows of the model's context length
    (perplexity tasks: lm-evaluation-harness's loglikelihood_rolling). Answered by a LoglikelihoodResponse."""

    text: str

    def key(self) -> str:
        return stable_hash({"kind": "rolling", "t": self.text}, 32)


Request = LoglikelihoodRequest | GenerationRequest | RollingRequest


# -------------------------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True, kw_only=True)
class LoglikelihoodResponse:
    logprob: float  # summed log-probability of the continuation, natural log
    is_greedy: bool  # every continuation token was the argmax
    n_tokens: int  # continuation length in tokens


@dataclass(frozen=True, slots=True, kw_only=True)
class GenerationResponse:
    texts: tuple[str, ...]  # n completions, stop sequences removed
    finish_reasons: tuple[str, ...] = ()  # "stop" | "length" per text, when known
    n_tokens: tuple[int, ...] = ()  # generated tokens per text, when known


Response = LoglikelihoodResponse | GenerationResponse


# ----------------------------------------------------------------------------------------------- scores


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    """One metric's value on one sample. `value` None means unscored (a metric skips it, never counts 0)."""

    metric: str
    value: float | None
    detail: str = ""  # e.g. "failed: AssertionError", "judge output unparseable"


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleResult:
    """A sample with what the model answered and how it scored: one row of samples/<model>_<task>.jsonl."""

    sample_id: str
    task: str
    model: str
    prompt: str
    target: int | str | tuple[str, ...]
    prediction: int | str | tuple[str, ...]
    scores: tuple[Score, ...]
    choices: tuple[str, ...] = ()
    loglikelihoods: tuple[float, ...] = ()
    outputs: tuple[str, ...] = ()  # generated texts (raw), for generative tasks
    extras: JSON = field(default_factory=dict)

    def score(self, metric: str) -> float | None:
        for s in self.scores:
            if s.metric == metric:
                return s.value
        return None

    @property
    def correct(self) -> bool | None:
        acc = self.score("acc")
        return None if acc is None else acc >= 1.0

    def to_json(self) -> JSON:
        row: JSON = {
            "sample_id": self.sample_id,
            "task": self.task,
            "model": self.model,
            "prompt": self.prompt,
            "choices": list(self.choices),
            "loglikelihoods": list(self.loglikelihoods),
            "outputs": list(self.outputs),
            "prediction": _plain(self.prediction),
            "target": _plain(self.target),
            "correct": self.correct,
            "scores": {s.metric: s.value for s in self.scores},
        }
        details = {s.metric: s.detail for s in self.scores if s.detail}
        if details:
            row["score_details"] = details
        if self.extras:
            row["extras"] = self.extras
        return row

    @classmethod
    def from_json(cls, row: Any) -> SampleResult:
        """Read back a row written by to_json (`correct` is derived, so it is not read)."""
        if not isinstance(row, dict):
            raise RecordError(f"a sample row is a JSON object, not {type(row).__name__}")
        scores = row.get("scores")
        if not isinstance(scores, dict):
            raise RecordError("scores: a JSON object of metric -> value is required")
        details = row.get("score_details") or {}
        data = {k: v for k, v in row.items() if k not in {"correct", "scores", "score_details", "schema_version"}}
        data["scores"] = [{"metric": m, "value": v, "detail": details.get(m, "")} for m, v in scores.items()]
        result: SampleResult = _validated(cls, data)
        return result


def _plain(value: int | str | tuple[str, ...]) -> int | str | list[str]:
    """A target or prediction as JSON holds it (several references are a list), so rows round-trip exactly."""
    return list(value) if isinstance(value, tuple) else value


# ------------------------------------------------------------------------------------------- aggregates


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricValue:
    """A corpus-level metric: value, its standard error (and how it was computed), and n scored samples."""

    value: float
    stderr: float | None
    n: int
    higher_is_better: bool = True
    stderr_method: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskResult:
    """Aggregated metrics of one model on one task (or group)."""

    model: str
    task: str
    metrics: dict[str, MetricValue]
    n_samples: int
    dataset: str = ""  # "<hub id>/<config>/<split>" or a file path
    dataset_sha256: str = ""  # sha256 of the exact rows used
    dataset_dvc: str = ""  # "<file>.dvc md5:<hash>": the DVC version of --data-dir, when it is under `dvc add`
    task_version: str = ""
    is_group: bool = False
    subtasks: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo:
    """What identifies the model that was evaluated (the parts of assay.models.identity.ModelIdentity)."""

    name: str  # display name (alias or user-given name)
    backend: str
    args: dict[str, Any]
    fingerprint: str  # the backend's identity: files digest, hub id + commit, GGUF + precision, or server's id
    version: str = ""
    files_digest: str = ""  # files-sha256-v2 of the local model files; "" when none (hub, server) or not recorded


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """Everything a run produced, as written to runs/<run_id>/summary.json."""

    run_id: str
    created: str  # ISO 8601 UTC
    config: JSON  # the command's own resolved configuration (RunConfig for `assay run`)
    models: tuple[ModelInfo, ...]
    results: tuple[TaskResult, ...]
    environment: JSON
    git_sha: str = ""
    wall_seconds: float = 0.0
    stats: JSON = field(default_factory=dict)  # requests computed / cached, forward passes, tokens
    command: str = "run"  # what wrote the folder: run | judge-mtbench | score
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> JSON:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> RunRecord:
        """Read back a summary written by to_json; version 1 (no `schema_version`) is read as it is."""
        if not isinstance(data, dict):
            raise RecordError(f"a run record is a JSON object, not {type(data).__name__}")
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise RecordError(f"schema_version {version!r} is newer than this assay reads ({SCHEMA_VERSION})")
        record: RunRecord = _validated(cls, {**data, "schema_version": version})
        return record

    def model(self, name: str) -> ModelInfo:
        """The evaluated model of that display name."""
        for info in self.models:
            if info.name == name:
                return info
        raise KeyError(name)

    def task_results(self, model: str | None = None, *, groups: bool = True) -> list[TaskResult]:
        """The results of one model (or all), optionally without group aggregates."""
        return [
            r for r in self.results if (model is None or r.model == model) and (groups or not r.is_group)
        ]

    def metric_map(self) -> dict[str, float]:
        """Flat {"<model>/<task>/<metric>": value}, the content of metrics.json."""
        flat: dict[str, float] = {}
        for r in self.results:
            for name, mv in r.metrics.items():
                flat[f"{r.model}/{r.task}/{name}"] = mv.value
        return flat


RunStatus = Literal["running", "finished", "failed"]
