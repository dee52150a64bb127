"""The judge machinery: greedy first try, bounded sampled retries, unscored rows, both orders for pairs."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import UsageError
from assay.judge.judge import Judge, JudgeConfig, JudgeInput, swap_fields
from assay.judge.prompts import JudgePrompt, rubric_prompt
from assay.models.cache import CachedModel, ResponseStore
from assay.records import GenerationRequest

from .helpers import ScriptedModel

PAIR = JudgePrompt(
    name="pair-test",
    kind="pairwise",
    system="Judge the two answers.",
    template="Q: {question}\nA: {answer_a}\nB: {answer_b}",
    output_format="pair",
)


def _single(item_id: str, answer: str) -> JudgeInput:
    return JudgeInput(item_id=item_id, prompt=rubric_prompt(), fields={"question": "2+2?", "answer": answer})


def _pair(item_id: str, a: str, b: str) -> JudgeInput:
    return JudgeInput(item_id=item_id, prompt=PAIR, fields={"question": "2+2?", "answer_a": a, "answer_b": b})


def test_first_attempt_is_greedy_with_system_and_user_messages() -> None:
    model = ScriptedModel(lambda r: '{"score": 8, "reasoning": "right"}')
    [j] = Judge(model, JudgeConfig(max_tokens=64, seed=7)).grade([_single("x", "4")])
    assert j.value == 8.0 and j.attempts == 1 and j.reasoning == "right"
    [req] = model.requests
    assert req.chat and req.temperature == 0.0 and req.seed == 7 and req.max_tokens == 64
    assert [role for role, _ in req.messages] == ["system", "user"]
    assert "[The Start of Assistant's Answer]\n4\n" in req.messages[1][1]


def test_malformed_output_is_retried_with_new_seeds_then_scored() -> None:
    def reply(r: GenerationRequest) -> str:
        return '{"score": 5, "reasoning": "ok"}' if r.seed == 3 else "I would give it a five."

    model = ScriptedModel(reply)
    [j] = Judge(model, JudgeConfig(seed=1, retries=3, retry_temperature=0.5)).grade([_single("x", "4")])
    assert j.value == 5.0 and j.attempts == 3
    assert [(r.seed, r.temperature) for r in model.requests] == [(1, 0.0), (2, 0.5), (3, 0.5)]


def test_after_bounded_retries_the_item_is_unscored_never_zero() -> None:
    model = ScriptedModel(lambda r: "no idea")
    [j] = Judge(model, JudgeConfig(retries=2)).grade([_single("x", "4")])
    assert j.value is None and j.attempts == 3 and len(model.requests) == 3
    score = j.to_score("score")
    assert score.value is None
    assert "unparseable after 3 attempt(s)" in score.detail and "no JSON object" in score.detail


def test_each_round_batches_only_the_items_still_unparsed() -> None:
    model = ScriptedModel(lambda r: '{"score": 9}' if "good" in r.prompt or r.seed == 1235 else "??")
    judgments = Judge(model, JudgeConfig(seed=1234)).grade([_single("a", "good"), _single("b", "bad")])
    assert [j.value for j in judgments] == [9.0, 9.0]
    assert model.calls == 2 and len(model.requests) == 3  # round 1: both; round 2: only "b"


def test_pairwise_swaps_the_answers_and_maps_the_verdicts_back() -> None:
    # this judge really prefers the answer "4", wherever it is shown
    model = ScriptedModel(lambda r: "[[A]]" if "A: 4\n" in r.prompt else "[[B]]")
    [p] = Judge(model).compare([_pair("q", "4", "5")])
    assert p.forward.value == "A" and p.backward.value == "B"
    assert (p.first_order, p.second_order, p.winner, p.consistent) == ("a", "a", "a", True)
    assert p.win_score() == 1.0
    shown = [r.prompt for r in model.requests]
    assert "A: 4\nB: 5" in shown[0] and "A: 5\nB: 4" in shown[1]


def test_position_biased_verdicts_count_as_a_tie() -> None:
    model = ScriptedModel(lambda r: "[[A]]")  # always picks whatever is shown first
    [p] = Judge(model).compare([_pair("q", "4", "5")])
    assert (p.first_order, p.second_order) == ("a", "b")
    assert p.winner == "tie" and p.consistent is False and p.win_score() == 0.5


def test_pair_with_one_unreadable_order_is_unscored() -> None:
    model = ScriptedModel(lambda r: "[[A]]" if "A: 4\n" in r.prompt else "both fine")
    [p] = Judge(model, JudgeConfig(retries=1)).compare([_pair("q", "4", "5")])
    assert p.winner is None and p.consistent is None and p.win_score() is None
    assert p.backward.attempts == 2


def test_swap_fields_swaps_every_turn() -> None:
    fields = {
        "question_1": "q",
        "answer_a_1": "a1",
        "answer_b_1": "b1",
        "answer_a_2": "a2",
        "answer_b_2": "b2",
    }
    swapped = swap_fields(fields)
    assert swapped == {"question_1": "q", "answer_a_1": "b1", "answer_b_1": "a1", "answer_a_2": "b2",
                       "answer_b_2": "a2"}  # fmt: skip


def test_compare_refuses_a_single_prompt() -> None:
    with pytest.raises(UsageError):
        Judge(ScriptedModel(lambda r: "")).compare([_single("x", "4")])


def test_cached_judge_does_not_ask_twice(tmp_path: Path) -> None:
    model = ScriptedModel(lambda r: '{"score": 6}' if r.temperature == 0 else "??")
    store = ResponseStore(tmp_path / "cache.sqlite")
    first = Judge(CachedModel(model, [store], [store])).grade([_single("a", "4"), _single("b", "5")])
    reopened = ResponseStore(tmp_path / "cache.sqlite")
    again = Judge(CachedModel(model, [reopened], [reopened])).grade([_single("a", "4")])
    assert [j.value for j in first] == [6.0, 6.0] and again[0].value == 6.0
    assert len(model.requests) == 2  # the third judgment came from the sqlite file
    other = ScriptedModel(lambda r: '{"score": 2}', name="other")
    assert Judge(CachedModel(other, [store], [store])).grade([_single("a", "4")])[0].value == 2.0
    assert len(other.requests) == 1  # another judge's fingerprint is another cache entry


def test_reference_guided_rubric_shows_the_reference() -> None:
    prompt = rubric_prompt(reference=True)
    assert prompt.needs_reference and prompt.fields == {"question", "answer", "reference"}
    text = prompt.render({"question": "2+2?", "answer": "5", "reference": "4"})
    assert "[The Start of Reference Answer]\n4\n" in text and '{"score": <integer from 1 to 10>' in text
    with pytest.raises(UsageError, match="needs reference"):
        prompt.render({"question": "2+2?", "answer": "5"})


def test_without_chat_the_judge_sends_one_plain_prompt() -> None:
    model = ScriptedModel(lambda r: '{"score": 4}')
    [j] = Judge(model, JudgeConfig(chat=False)).grade([_single("x", "4")])
    [req] = model.requests
    assert j.value == 4.0 and not req.chat and not req.messages
    assert req.prompt.startswith(rubric_prompt().system + "\n\n[Instruction]")
