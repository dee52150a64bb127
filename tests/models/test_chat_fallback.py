"""A base model without a chat template (Gemma-3-270M) still answers chat requests (MT-Bench's answers and
judgments): the conversation becomes a plain transcript and the reply stops where it starts a user turn."""

from __future__ import annotations

import pytest

from assay.models.hf_generate import PLAIN_TURN, render_prompt, stops
from assay.records import GenerationRequest

pytestmark = pytest.mark.integration


def test_a_base_model_gets_a_plain_transcript_and_stops_at_the_next_user_turn() -> None:
    from transformers import AutoTokenizer

    from assay.models.aliases import hf_folder

    gemma = AutoTokenizer.from_pretrained(str(hf_folder("gemma3-270m")))
    assert not getattr(gemma, "chat_template", None)  # the base model ships none
    req = GenerationRequest(prompt="", chat=True, stop=("###",),
                            messages=(("system", "Be brief."), ("user", "Name a colour."), ("assistant", "Red."),
                                      ("user", "Another?")))  # fmt: skip
    transcript = "System: Be brief.\nUser: Name a colour.\nAssistant: Red.\nUser: Another?\nAssistant:"
    assert render_prompt(gemma, req) == transcript
    assert stops(gemma, req) == ("###", PLAIN_TURN)
    plain = GenerationRequest(prompt="Q: 2+2?\nA:", stop=("\n",))
    assert render_prompt(gemma, plain) == plain.prompt and stops(gemma, plain) == ("\n",)

    smollm = AutoTokenizer.from_pretrained(str(hf_folder("smollm2-135m")))
    assert "<|im_start|>" in render_prompt(smollm, req)  # an instruct model keeps its own template
    assert stops(smollm, req) == ("###",)
