"""Code problem sets (HumanEval, MBPP, custom suites) and scoring completions in the sandbox."""

from assay.code.problems import Problem
from assay.code.score import load_problems, reference_limits, score_completions

__all__ = ["Problem", "load_problems", "reference_limits", "score_completions"]
