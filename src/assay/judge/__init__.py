"""LLM-as-judge on the ordinary Model seam: single grading, pairwise with position swap, MT-Bench, agreement.

The public surface; the modules behind it are:
    parsing      verdicts out of free text ([[rating]], JSON, [[A]]/[[B]]/[[C]])
    prompts      FastChat's MT-Bench prompts and assay's rubric prompt
    judge        Judge: batched requests, bounded retries, unscored instead of 0, both orders for pairs
                 (judgments are cached by wrapping the judge in assay.models.cache.CachedModel)
    mtbench*     questions, two-turn answers, judging, results and the run folder
    quality      agreement with human labels, position and length bias
"""

from assay.judge.judge import Judge, JudgeConfig, JudgeInput, Judgment, PairJudgment
from assay.judge.parsing import Parsed, parse, parse_json_score, parse_pair, parse_rating
from assay.judge.prompts import JudgePrompt, load_fastchat_prompts, rubric_prompt

__all__ = [
    "Judge",
    "JudgeConfig",
    "JudgeInput",
    "JudgePrompt",
    "Judgment",
    "PairJudgment",
    "Parsed",
    "load_fastchat_prompts",
    "parse",
    "parse_json_score",
    "parse_pair",
    "parse_rating",
    "rubric_prompt",
]
