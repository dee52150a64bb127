"""The pure stages between samples and results: samples -> requests, responses -> scored SampleResults.

Each function takes the records of the stage before and returns new ones; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assay.execution.kinds import Kind
from assay.metrics.catalog import METRICS, get_metric
from assay.metrics.choice import CHOICE_METRICS, choice_scores
from assay.records import (
    GenerationRequest,
    GenerationResponse,
    LoglikelihoodRequest,
    LoglikelihoodResponse,
    Request,
    Sample,
    SampleResult,
    Score,
    stable_hash,
)
from assay.tasks.scoring import Scored, ScoringContext
from assay.tasks.spec import TaskSpec


def loglikelihood_requests(samples: Sequence[Sample]) -> list[LoglikelihoodRequest]:
    """One request per choice of every sample, flattened in sample order."""
    return [
        LoglikelihoodRequest(context=c, continuation=x)
        for s in samples
        for c, x in zip(s.contexts, s.continuations, strict=True)
    ]


def sample_seed(seed: int, sample_id: str) -> int:
    """A per-sample seed derived from the run seed: sampled outputs do not depend on batch or order."""
    return int(stable_hash([seed, sample_id], 8), 16) % (2**31)


def generation_requests(
    spec: TaskSpec, samples: Sequence[Sample], seed: int, overrides: Mapping[str, Any], n: int | None
) -> list[GenerationRequest]:
    """One request per sample with the task's decoding settings, CLI overrides applied."""
    settings = spec.generation.model_copy(update=dict(overrides))
    count = n or settings.n
    if count > 1 and settings.temperature == 0 and "temperature" not in overrides:
        # n identical greedy outputs would make pass@k meaningless: sample, as the Codex paper did for k > 1
        settings = settings.model_copy(update={"temperature": 0.8, "top_p": 0.95})
    requests = []
    for s in samples:
        system = (("system", settings.system),) if settings.system else ()
        requests.append(
            GenerationRequest(
                prompt=s.prompt,
                messages=(*system, ("user", s.prompt)) if settings.chat else (),
                chat=settings.chat,
                stop=tuple(settings.stop),
                max_tokens=settings.max_tokens,
                temperature=settings.temperature,
                top_p=settings.top_p,
                n=count,
                seed=sample_seed(seed, s.sample_id),
            )
        )
    return requests


def score_choices(
    spec: TaskSpec, model: str, samples: Sequence[Sample], responses: Sequence[LoglikelihoodResponse]
) -> list[SampleResult]:
    """Per-sample acc/acc_norm from the per-choice loglikelihoods (responses flattened as requested)."""
    wanted = [m.name for m in spec.metrics if m.name in CHOICE_METRICS] or ["acc"]
    results = []
    offset = 0
    for s in samples:
        k = len(s.choices)
        lls = tuple(r.logprob for r in responses[offset : offset + k])
        greedy = [r.is_greedy for r in responses[offset : offset + k]]
        offset += k
        pred, scores = choice_scores(lls, s.choices, int(s.target), wanted)  # type: ignore[arg-type]
        extras = {"is_greedy": greedy} if any(greedy) else {}
        results.append(_result(s, model, pred, scores, choices=s.choices, loglikelihoods=lls, extras=extras))
    return results


def score_generations(
    spec: TaskSpec,
    model: str,
    samples: Sequence[Sample],
    responses: Sequence[GenerationResponse],
    hook_scores: Sequence[tuple[Score, ...]] | Scored | None,
) -> list[SampleResult]:
    """Per-sample metric scores of generated text: filter (extraction) then metric, or a scorer hook's scores
    (and the extras it records, when it answers with `Scored`)."""
    hook_extras: Sequence[dict[str, Any]] = ()
    if isinstance(hook_scores, Scored):
        hook_extras = hook_scores.extras
        hook_scores = hook_scores.scores
    results = []
    for i, (s, resp) in enumerate(zip(samples, responses, strict=True)):
        first = resp.texts[0] if resp.texts else ""
        extracted: dict[str, str] = {}
        scores: list[Score] = list(hook_scores[i]) if hook_scores is not None else []
        if hook_scores is None:
            for ref in spec.metrics:
                text = _filtered(spec, ref.filter, first, extracted)
                value = get_metric(ref.name)(text, _references(s.target), **ref.options)
                scores.append(Score(metric=ref.label, value=value))
        prediction = extracted.get(spec.metrics[0].filter or "", first) if spec.metrics else first
        extras = {"extracted": extracted} if extracted else {}
        if hook_extras:
            extras.update(hook_extras[i])
        results.append(_result(s, model, prediction, tuple(scores), outputs=resp.texts, extras=extras))
    return results


def _references(target: Any) -> str | tuple[str, ...]:
    return tuple(str(t) for t in target) if isinstance(target, list | tuple) else str(target)


def _filtered(spec: TaskSpec, name: str | None, text: str, memo: dict[str, str]) -> str:
    if not name:
        return text
    if name not in memo:
        from assay.tasks.filters import apply_filter

        memo[name] = apply_filter(spec.filters[name], text)
    return memo[name]


def _result(s: Sample, model: str, prediction: Any, scores: tuple[Score, ...], **rest: Any) -> SampleResult:
    """The sample's record: what every task type shares, plus `rest` (choices and loglikelihoods, outputs...)."""
    return SampleResult(
        sample_id=s.sample_id,
        task=s.task,
        model=model,
        prompt=s.prompt,
        target=s.target,
        prediction=prediction,
        scores=scores,
        **rest,
    )


# ------------------------------------------------------------------------------------- the output types
# An assay task's output type, in one table: the request kind its samples make, how they make them, how the
# responses become scores and which metrics apply. The runner and the task-file check read it; lm-eval's
# output types (lm: tasks) are lm-eval's own (assay.lmeval), with the same request kinds.


@dataclass(frozen=True)
class OutputType:
    name: str
    kind: Kind
    requests: Callable[[TaskSpec, Sequence[Sample], int, Mapping[str, Any], int | None], list[Request]]
    score: Callable[[TaskSpec, str, Sequence[Sample], Sequence[Any], ScoringContext], list[SampleResult]]
    metrics: Collection[str]  # the metric names a task file may ask for
    hooks: bool  # a `scorer` hook scores it instead (its own metrics: pass@k, judge scores)


def _scored_generations(spec: TaskSpec, model: str, samples: Sequence[Sample], responses: Sequence[GenerationResponse],
                        ctx: ScoringContext) -> list[SampleResult]:  # fmt: skip
    hook_scores = None
    if spec.scorer:
        from assay.tasks.build import import_hook

        hook_scores = import_hook(spec.scorer)(spec, samples, [r.texts for r in responses], ctx)
    return score_generations(spec, model, samples, responses, hook_scores)


OUTPUTS: dict[str, OutputType] = {
    "multiple_choice": OutputType(
        "multiple_choice", "loglikelihood", lambda spec, samples, *_: list(loglikelihood_requests(samples)),
        lambda spec, model, samples, responses, ctx: score_choices(spec, model, samples, responses),
        CHOICE_METRICS, hooks=False),
    "generate": OutputType(
        "generate", "generate", lambda *a: list(generation_requests(*a)), _scored_generations,
        METRICS, hooks=True),
}  # fmt: skip
