"""MT-Bench: 80 two-turn questions in 8 categories, answered by a model and graded by a judge.

    questions -> answers (turn 1, then turn 2 seeing turn 1) -> judge inputs (FastChat prompts) -> judgments

Answers use FastChat's per-category temperatures; math, reasoning and coding are judged against GPT-4's
reference answers (FastChat's NEED_REF_CATS). Turn 1 is judged with single-v1 (or single-math-v1), turn 2
with the multi-turn prompt that shows the whole conversation; pairwise mode uses pair-v2 / pair-math-v1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assay.data.sources import read_jsonl
from assay.errors import DataError, UsageError
from assay.judge.judge import JudgeInput
from assay.judge.prompts import JudgePrompt, PromptKind, fastchat_prompt_name, mtbench_dir
from assay.models.base import Model, Progress
from assay.records import GenerationRequest

# FastChat's llm_judge/common.py temperature_config
CATEGORY_TEMPERATURE: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
}
NEED_REF_CATS = frozenset({"math", "reasoning", "coding"})
DATASET = "lmsys/mt_bench/question.jsonl"


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    """One MT-Bench question: two user turns, a category, and GPT-4's reference turns when it has them."""

    question_id: int
    category: str
    turns: tuple[str, str]
    reference: tuple[str, str] | None = None

    @property
    def temperature(self) -> float:
        return CATEGORY_TEMPERATURE.get(self.category, 0.7)


def _references(folder: Path) -> dict[int, tuple[str, str]]:
    path = folder / "reference_answer" / "gpt-4.jsonl"
    if not path.exists():
        raise DataError(
            f"{path} is missing", hint="MT-Bench's reference answers are needed for math/reasoning/coding"
        )
    refs = {}
    for row in read_jsonl(path):
        turns = row["choices"][0]["turns"]
        refs[int(row["question_id"])] = (str(turns[0]), str(turns[1]))
    return refs


def load_questions(
    data_dir: str | Path | None,
    *,
    limit: int | None = None,
    ids: Sequence[int] = (),
    categories: Sequence[str] = (),
) -> list[Question]:
    """The selected questions in file order: by id, then by category, then the first `limit`."""
    folder = mtbench_dir(data_dir)
    rows = read_jsonl(folder / "question.jsonl")
    known = sorted({str(r["category"]) for r in rows})
    unknown = [c for c in categories if c not in known]
    if unknown:
        raise UsageError(
            f"unknown MT-Bench categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}",
            hint=f"choose from {', '.join(known)}",
        )
    missing = sorted(set(ids) - {int(r["question_id"]) for r in rows})
    if missing:
        raise UsageError(
            f"no MT-Bench question with id {', '.join(map(str, missing))}", hint="ids run 81 to 160"
        )
    if limit is not None and limit <= 0:
        raise UsageError("--questions must be a positive number")
    refs = _references(folder)
    out = []
    for row in rows:
        qid, category = int(row["question_id"]), str(row["category"])
        if (ids and qid not in ids) or (categories and category not in categories):
            continue
        turns = row["turns"]
        reference = refs.get(qid) if category in NEED_REF_CATS else None
        out.append(
            Question(
                question_id=qid, category=category, turns=(str(turns[0]), str(turns[1])), reference=reference
            )
        )
    return out[:limit] if limit is not None else out


def questions_sha256(questions: Sequence[Question]) -> str:
    """sha256 of the exact questions used (ids, categories, turns), for the leaderboard's dataset hash."""
    payload = json.dumps([[q.question_id, q.category, list(q.turns)] for q in questions], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def generate_answers(
    model: Model,
    questions: Sequence[Question],
    *,
    max_tokens: int,
    seed: int,
    progress: Progress | None = None,
) -> list[tuple[str, str]]:
    """Two-turn answers through the model's chat template; turn 2's conversation includes turn 1's answer."""

    def request(messages: tuple[tuple[str, str], ...], q: Question) -> GenerationRequest:
        return GenerationRequest(
            prompt=messages[-1][1],
            messages=messages,
            chat=True,
            max_tokens=max_tokens,
            temperature=q.temperature,
            seed=seed,
        )

    first = model.generate([request((("user", q.turns[0]),), q) for q in questions], progress)
    firsts = [r.texts[0] if r.texts else "" for r in first]
    second_requests = [
        request((("user", q.turns[0]), ("assistant", a1), ("user", q.turns[1])), q)
        for q, a1 in zip(questions, firsts, strict=True)
    ]
    second = model.generate(second_requests, progress)
    return [(a1, r.texts[0] if r.texts else "") for a1, r in zip(firsts, second, strict=True)]


def _prompt(prompts: dict[str, JudgePrompt], kind: PromptKind, q: Question, turn: int) -> JudgePrompt:
    name = fastchat_prompt_name(kind, reference=q.reference is not None, multi_turn=turn == 2)
    if name not in prompts:
        raise DataError(f"judge prompt {name!r} is not in judge_prompts.jsonl")
    return prompts[name]


def single_inputs(
    questions: Sequence[Question], answers: Sequence[tuple[str, str]], prompts: dict[str, JudgePrompt]
) -> list[JudgeInput]:
    """Two judge inputs per question (turn 1, turn 2), item ids `<question id>/turn<k>`."""
    out = []
    for q, (a1, a2) in zip(questions, answers, strict=True):
        ref = {"ref_answer_1": q.reference[0], "ref_answer_2": q.reference[1]} if q.reference else {}
        out.append(
            JudgeInput(
                item_id=f"{q.question_id}/turn1",
                prompt=_prompt(prompts, "single", q, 1),
                fields={"question": q.turns[0], "answer": a1, **ref},
            )
        )
        out.append(
            JudgeInput(
                item_id=f"{q.question_id}/turn2",
                prompt=_prompt(prompts, "single", q, 2),
                fields={
                    "question_1": q.turns[0],
                    "question_2": q.turns[1],
                    "answer_1": a1,
                    "answer_2": a2,
                    **ref,
                },
            )
        )
    return out


def pair_inputs(
    questions: Sequence[Question],
    answers_a: Sequence[tuple[str, str]],
    answers_b: Sequence[tuple[str, str]],
    prompts: dict[str, JudgePrompt],
) -> list[JudgeInput]:
    """Two pairwise inputs per question (turn 1, turn 2); `a` is the evaluated model, `b` the baseline."""
    out = []
    for q, (a1, a2), (b1, b2) in zip(questions, answers_a, answers_b, strict=True):
        ref = {"ref_answer_1": q.reference[0], "ref_answer_2": q.reference[1]} if q.reference else {}
        out.append(
            JudgeInput(
                item_id=f"{q.question_id}/turn1",
                prompt=_prompt(prompts, "pairwise", q, 1),
                fields={"question": q.turns[0], "answer_a": a1, "answer_b": b1, **ref},
            )
        )
        out.append(
            JudgeInput(
                item_id=f"{q.question_id}/turn2",
                prompt=_prompt(prompts, "pairwise", q, 2),
                fields={
                    "question_1": q.turns[0],
                    "question_2": q.turns[1],
                    "answer_a_1": a1,
                    "answer_a_2": a2,
                    "answer_b_1": b1,
                    "answer_b_2": b2,
                    **ref,
                },
            )
        )
    return out
