"""The LLM judge: a scorer built on the ordinary Model seam, so any backend can judge.

    judge = Judge(load_model(ModelSpec(model="smollm2-135m")), JudgeConfig(max_tokens=256))
    judgments = judge.grade([JudgeInput(item_id="q1", prompt=rubric_prompt(), fields={...})])
    pairs = judge.compare([JudgeInput(item_id="q1", prompt=pair_prompt, fields={...answer_a, answer_b...})])

The first attempt is greedy (temperature 0). Greedy decoding would only repeat a malformed answer, so each
retry samples at `retry_temperature` with a new seed (seed + attempt); after `retries` failures the item
is unscored (value None, with the parse error as detail), never a silent 0. Pairwise items are judged twice,
with the answers in both orders; verdicts that disagree count as a tie, and their rate is the judge's
position bias.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from assay.errors import UsageError
from assay.judge.parsing import Parsed, Verdict, parse
from assay.judge.prompts import JudgePrompt
from assay.models.base import Model, Progress
from assay.records import GenerationRequest, Score

Winner = Literal["a", "b", "tie"]

# answer slots swapped to present a pair in the other order (FastChat's single- and multi-turn names)
_SWAP = (("answer_a", "answer_b"), ("answer_a_1", "answer_b_1"), ("answer_a_2", "answer_b_2"))


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeConfig:
    """How the judge decodes and how hard it tries."""

    max_tokens: int = 512
    retries: int = 2  # extra attempts after the first, for malformed output
    retry_temperature: float = 0.7
    seed: int = 1234
    chat: bool = True  # send system + user messages through the judge's chat template

    def __post_init__(self) -> None:
        if self.retries < 0 or self.max_tokens <= 0:
            raise UsageError("judge retries must be >= 0 and max_tokens > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgeInput:
    """One thing to judge: an item id, the prompt to use, and the values of its `{field}` slots."""

    item_id: str
    prompt: JudgePrompt
    fields: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Judgment:
    """The judge's verdict on one input: a score (single) or "A"/"B"/"tie" (pairwise), or None if unscored."""

    item_id: str
    prompt_name: str
    value: float | Verdict | None
    reasoning: str = ""
    outputs: tuple[str, ...] = ()  # the raw text of every attempt, in order
    error: str = ""  # why the last attempt could not be read (when value is None)

    @property
    def attempts(self) -> int:
        return len(self.outputs)

    def to_score(self, metric: str) -> Score:
        """A Score; an unscored judgment keeps value None and says why."""
        if isinstance(self.value, float):
            return Score(metric=metric, value=self.value)
        detail = f"judge output unparseable after {self.attempts} attempt(s): {self.error}"
        return Score(metric=metric, value=None, detail=detail)


@dataclass(frozen=True, slots=True, kw_only=True)
class PairJudgment:
    """A pair judged in both orders. `winner` is relative to the item's a/b; None when either order failed."""

    item_id: str
    forward: Judgment  # answer a shown first
    backward: Judgment  # answer b shown first
    winner: Winner | None = field(init=False)
    consistent: bool | None = field(init=False)

    def __post_init__(self) -> None:
        first, second = self.first_order, self.second_order
        if first is None or second is None:
            winner, consistent = None, None
        elif first == second:
            winner, consistent = first, True
        else:
            winner, consistent = "tie", False  # the verdict followed the position, not the answers
        object.__setattr__(self, "winner", winner)
        object.__setattr__(self, "consistent", consistent)

    @property
    def first_order(self) -> Winner | None:
        """The verdict with a shown first, in terms of the item's a/b."""
        return _as_item_winner(self.forward.value, swapped=False)

    @property
    def second_order(self) -> Winner | None:
        """The verdict with b shown first, mapped back to the item's a/b."""
        return _as_item_winner(self.backward.value, swapped=True)

    def win_score(self) -> float | None:
        """1 if a won, 0.5 for a tie, 0 if b won; None when unscored."""
        return None if self.winner is None else {"a": 1.0, "tie": 0.5, "b": 0.0}[self.winner]


def _as_item_winner(verdict: object, *, swapped: bool) -> Winner | None:
    if verdict == "tie":
        return "tie"
    if verdict == "A":
        return "b" if swapped else "a"
    if verdict == "B":
        return "a" if swapped else "b"
    return None


def swap_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The same pair with answer a and answer b exchanged (every turn)."""
    out = dict(fields)
    for a, b in _SWAP:
        if a in fields and b in fields:
            out[a], out[b] = fields[b], fields[a]
    return out


class Judge:
    """Asks a model for verdicts and reads them, with bounded retries."""

    def __init__(self, model: Model, config: JudgeConfig | None = None) -> None:
        self.model = model
        self.config = config or JudgeConfig()

    def request(self, item: JudgeInput, attempt: int) -> GenerationRequest:
        """The generation request for one attempt: greedy first, sampled with a fresh seed on retries."""
        user = item.prompt.render(item.fields)
        temperature = 0.0 if attempt == 0 else self.config.retry_temperature
        seed = self.config.seed + attempt
        if self.config.chat:
            messages = ((("system", item.prompt.system),) if item.prompt.system else ()) + (("user", user),)
            return GenerationRequest(
                prompt=user,
                messages=messages,
                chat=True,
                max_tokens=self.config.max_tokens,
                temperature=temperature,
                seed=seed,
            )
        text = f"{item.prompt.system}\n\n{user}\n\n" if item.prompt.system else f"{user}\n\n"
        return GenerationRequest(
            prompt=text, max_tokens=self.config.max_tokens, temperature=temperature, seed=seed
        )

    def grade(self, items: Sequence[JudgeInput], progress: Progress | None = None) -> list[Judgment]:
        """One Judgment per input, in order. Each round sends every still-unparsed item in one batch."""
        outputs: list[list[str]] = [[] for _ in items]
        parsed: list[Parsed | None] = [None] * len(items)
        pending = list(range(len(items)))
        for attempt in range(self.config.retries + 1):
            if not pending:
                break
            responses = self.model.generate([self.request(items[i], attempt) for i in pending], progress)
            still = []
            for i, response in zip(pending, responses, strict=True):
                text = response.texts[0] if response.texts else ""
                outputs[i].append(text)
                result = parse(text, items[i].prompt.output_format)
                parsed[i] = result
                if not result.ok:
                    still.append(i)
            pending = still
        return [_judgment(item, outputs[i], parsed[i]) for i, item in enumerate(items)]

    def compare(self, items: Sequence[JudgeInput], progress: Progress | None = None) -> list[PairJudgment]:
        """Pairwise verdicts, each judged with a/b in both orders (one batch for all 2N prompts)."""
        for item in items:
            if item.prompt.kind != "pairwise":
                raise UsageError(f"prompt {item.prompt.name!r} is not a pairwise prompt")
        swapped = [
            JudgeInput(item_id=i.item_id, prompt=i.prompt, fields=swap_fields(i.fields)) for i in items
        ]
        judged = self.grade([*items, *swapped], progress)
        n = len(items)
        return [
            PairJudgment(item_id=item.item_id, forward=judged[k], backward=judged[n + k])
            for k, item in enumerate(items)
        ]


def _judgment(item: JudgeInput, outputs: list[str], parsed: Parsed | None) -> Judgment:
    assert parsed is not None  # every item gets at least one attempt
    value = parsed.value
    if isinstance(value, int):
        value = float(value)
    return Judgment(
        item_id=item.item_id,
        prompt_name=item.prompt.name,
        value=value,
        reasoning=parsed.reasoning,
        outputs=tuple(outputs),
        error=parsed.error,
    )
