"""Judge prompts: FastChat's MT-Bench prompts (read from the data folder) and assay's rubric prompt.

A prompt is a system message plus a user template with `{field}` slots. It says which output format its
verdict uses (`rating` = "[[7]]", `json` = {"score": 7, "reasoning": "..."}, `pair` = "[[A]]", "[[B]]" or
"[[C]]"), whether it needs a reference answer and whether it judges a two-turn conversation.

FastChat's prompts live in `<data-dir>/lmsys/mt_bench/judge_prompts.jsonl` (the benchmark's own file, not a
copy), so the exact wording the published MT-Bench numbers were made with is what assay sends.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assay.errors import DataError, UsageError
from assay.judge.parsing import OutputFormat

PromptKind = Literal["single", "pairwise"]
MTBENCH_SUBDIR = Path("lmsys") / "mt_bench"
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class JudgePrompt:
    """One judge prompt: how to ask, and how to read the answer."""

    name: str
    kind: PromptKind
    system: str
    template: str
    output_format: OutputFormat
    needs_reference: bool = False
    multi_turn: bool = False

    @property
    def fields(self) -> frozenset[str]:
        """The `{field}` slots the template expects."""
        return frozenset(_FIELD.findall(self.template))

    def render(self, values: Mapping[str, str]) -> str:
        """The user message: each `{field}` replaced. Other braces (JSON examples) are left alone."""
        missing = self.fields - values.keys()
        if missing:
            raise UsageError(f"judge prompt {self.name!r} needs {', '.join(sorted(missing))}")
        return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), self.template)


def _rubric_template(criteria: tuple[str, ...], reference: bool) -> str:
    lines = [
        "[Instruction]",
        "Please act as an impartial judge and grade the response of an AI assistant to the user question "
        "below on a scale of 1 (very poor) to 10 (excellent), considering these criteria:",
        *[f"- {c}" for c in criteria],
    ]
    if reference:
        lines.append(
            "Compare the assistant's answer with the reference answer; count every mistake against it."
        )
        lines += ["", "[The Start of Reference Answer]", "{reference}", "[The End of Reference Answer]"]
    lines += [
        "",
        "[Question]",
        "{question}",
        "",
        "[The Start of Assistant's Answer]",
        "{answer}",
        "[The End of Assistant's Answer]",
        "",
        'Reply with only a JSON object of the form {"score": <integer from 1 to 10>, '
        '"reasoning": "<one or two sentences>"}.',
    ]
    return "\n".join(lines)


DEFAULT_CRITERIA = (
    "accuracy: is the answer correct and free of factual errors?",
    "helpfulness: does it do what the user asked?",
    "clarity: is it well organised and easy to follow?",
)


def rubric_prompt(criteria: tuple[str, ...] = DEFAULT_CRITERIA, *, reference: bool = False) -> JudgePrompt:
    """assay's single-answer rubric prompt with JSON output; `reference=True` adds a reference answer slot."""
    return JudgePrompt(
        name="rubric-json-v1" + ("-ref" if reference else ""),
        kind="single",
        system="You are a careful, impartial grader. You answer with JSON only.",
        template=_rubric_template(criteria, reference),
        output_format="json",
        needs_reference=reference,
    )


def data_root(data_dir: str | Path | None) -> Path:
    """The benchmark data folder: `data_dir`, else $ASSAY_DATA_DIR; an error with a hint if neither."""
    chosen = data_dir or os.environ.get("ASSAY_DATA_DIR")
    if not chosen:
        raise UsageError("no benchmark data folder given", hint="pass --data-dir DIR or set ASSAY_DATA_DIR")
    root = Path(chosen)
    if not root.is_dir():
        raise DataError(
            f"data folder {root} does not exist", hint="pass --data-dir with the benchmark data folder"
        )
    return root


def mtbench_dir(data_dir: str | Path | None) -> Path:
    """`<data-dir>/lmsys/mt_bench`, checked to exist."""
    folder = data_root(data_dir) / MTBENCH_SUBDIR
    if not (folder / "question.jsonl").exists():
        raise DataError(
            f"no MT-Bench data in {folder}", hint="expected question.jsonl and judge_prompts.jsonl there"
        )
    return folder


def load_fastchat_prompts(data_dir: str | Path | None) -> dict[str, JudgePrompt]:
    """FastChat's judge prompts by name (single-v1, single-math-v1, pair-v2, ... and -multi-turn variants)."""
    path = mtbench_dir(data_dir) / "judge_prompts.jsonl"
    if not path.exists():
        raise DataError(f"{path} is missing", hint="the MT-Bench folder needs FastChat's judge_prompts.jsonl")
    prompts: dict[str, JudgePrompt] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                fmt = row["output_format"]
                prompt = JudgePrompt(
                    name=row["name"],
                    kind="pairwise" if row["type"] == "pairwise" else "single",
                    system=row["system_prompt"],
                    template=row["prompt_template"],
                    output_format="pair" if fmt == "[[A]]" else "rating",
                    needs_reference=row.get("category") == "math" or "ref_answer_1" in row["prompt_template"],
                    multi_turn=row["name"].endswith("multi-turn"),
                )
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise DataError(f"{path}:{number}: not a FastChat judge prompt ({exc})") from exc
            prompts[prompt.name] = prompt
    return prompts


def fastchat_prompt_name(kind: PromptKind, *, reference: bool, multi_turn: bool) -> str:
    """FastChat's naming: single-v1 / single-math-v1 / pair-v2 / pair-math-v1, plus -multi-turn."""
    if kind == "single":
        base = "single-math-v1" if reference else "single-v1"
    else:
        base = "pair-math-v1" if reference else "pair-v2"
    return base + ("-multi-turn" if multi_turn else "")
