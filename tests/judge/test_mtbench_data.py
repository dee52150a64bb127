"""MT-Bench data and FastChat prompts: loading, selection, temperatures, references and judge inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import DataError, UsageError
from assay.judge.mtbench import (
    CATEGORY_TEMPERATURE,
    load_questions,
    pair_inputs,
    questions_sha256,
    single_inputs,
)
from assay.judge.prompts import fastchat_prompt_name, load_fastchat_prompts

pytestmark = pytest.mark.needs_data


def test_all_80_questions_in_8_categories_with_references_for_math_reasoning_coding(data_dir: Path) -> None:
    questions = load_questions(data_dir)
    assert len(questions) == 80
    by_cat: dict[str, int] = {}
    for q in questions:
        by_cat[q.category] = by_cat.get(q.category, 0) + 1
        assert (q.reference is not None) == (q.category in {"math", "reasoning", "coding"})
    assert by_cat == {c: 10 for c in CATEGORY_TEMPERATURE}
    q101 = next(q for q in questions if q.question_id == 101)
    assert q101.reference is not None and "second place" in q101.reference[0]


def test_per_category_temperatures_are_fastchats(data_dir: Path) -> None:
    temps = {q.category: q.temperature for q in load_questions(data_dir)}
    assert temps == {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0,
                     "reasoning": 0.0, "stem": 0.1, "humanities": 0.1}  # fmt: skip


def test_selection_by_ids_categories_and_count(data_dir: Path) -> None:
    assert [q.question_id for q in load_questions(data_dir, ids=[101, 81])] == [81, 101]
    maths = load_questions(data_dir, categories=["math"], limit=3)
    assert [q.category for q in maths] == ["math"] * 3
    assert questions_sha256(maths) != questions_sha256(load_questions(data_dir, categories=["math"], limit=2))


def test_selection_mistakes_are_usage_errors(data_dir: Path) -> None:
    with pytest.raises(UsageError, match="unknown MT-Bench category maths") as info:
        load_questions(data_dir, categories=["maths"])
    assert info.value.hint and "math" in info.value.hint
    with pytest.raises(UsageError, match="no MT-Bench question with id 5"):
        load_questions(data_dir, ids=[5])


def test_missing_data_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no MT-Bench data"):
        load_questions(tmp_path)


def test_fastchat_prompts_are_read_with_their_formats(data_dir: Path) -> None:
    prompts = load_fastchat_prompts(data_dir)
    assert set(prompts) == {
        "pair-v2",
        "pair-v2-multi-turn",
        "pair-math-v1",
        "pair-math-v1-multi-turn",
        "single-v1",
        "single-math-v1",
        "single-v1-multi-turn",
        "single-math-v1-multi-turn",
    }
    assert prompts["single-v1"].output_format == "rating" and prompts["pair-v2"].output_format == "pair"
    assert (
        prompts["single-math-v1-multi-turn"].needs_reference
        and prompts["single-math-v1-multi-turn"].multi_turn
    )
    assert not prompts["single-v1"].needs_reference
    for kind in ("single", "pairwise"):
        for ref in (True, False):
            for multi in (True, False):
                name = fastchat_prompt_name(kind, reference=ref, multi_turn=multi)  # type: ignore[arg-type]
                assert prompts[name].multi_turn == multi and prompts[name].needs_reference == ref


def test_single_inputs_fill_fastchat_templates(data_dir: Path) -> None:
    questions = load_questions(data_dir, ids=[81, 111])
    prompts = load_fastchat_prompts(data_dir)
    inputs = single_inputs(questions, [("w1", "w2"), ("m1", "m2")], prompts)
    assert [(i.item_id, i.prompt.name) for i in inputs] == [
        ("81/turn1", "single-v1"), ("81/turn2", "single-v1-multi-turn"),
        ("111/turn1", "single-math-v1"), ("111/turn2", "single-math-v1-multi-turn"),
    ]  # fmt: skip
    turn2 = inputs[3].prompt.render(inputs[3].fields)
    assert "### Assistant A:\nm1" in turn2 and "### Assistant A:\nm2" in turn2
    assert questions[1].reference is not None and questions[1].reference[1] in turn2
    assert "{" not in inputs[0].prompt.render(inputs[0].fields).replace("{answer", "")


def test_pair_inputs_use_pair_prompts(data_dir: Path) -> None:
    questions = load_questions(data_dir, ids=[81])
    inputs = pair_inputs(questions, [("a1", "a2")], [("b1", "b2")], load_fastchat_prompts(data_dir))
    assert [i.prompt.name for i in inputs] == ["pair-v2", "pair-v2-multi-turn"]
    text = inputs[1].prompt.render(inputs[1].fields)
    assert "### Assistant A:\na2" in text and "### Assistant B:\nb2" in text
