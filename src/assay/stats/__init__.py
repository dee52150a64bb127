"""Statistics shared by `assay compare`, the judges and the CI gate: paired tests, multiple-comparison
correction, ratings from pairwise results, rater agreement and judge-bias diagnostics."""

from assay.stats.agreement import (
    accuracy,
    cohen_kappa,
    fleiss_kappa,
    fleiss_kappa_from_counts,
    krippendorff_alpha,
)
from assay.stats.bias import Correlation, PositionBias, length_bias, longer_wins_rate, position_bias
from assay.stats.compare import Comparison, compare_runs, markdown_table
from assay.stats.multiple import holm
from assay.stats.paired import (
    PairedTest,
    mcnemar_exact,
    paired_bootstrap,
    paired_permutation,
    paired_test,
    verdict,
    win_tie_loss,
)
from assay.stats.ratings import Rating, bradley_terry, elo, rate

__all__ = [
    "Comparison",
    "Correlation",
    "PairedTest",
    "PositionBias",
    "Rating",
    "accuracy",
    "bradley_terry",
    "cohen_kappa",
    "compare_runs",
    "elo",
    "fleiss_kappa",
    "fleiss_kappa_from_counts",
    "holm",
    "krippendorff_alpha",
    "length_bias",
    "longer_wins_rate",
    "markdown_table",
    "mcnemar_exact",
    "paired_bootstrap",
    "paired_permutation",
    "paired_test",
    "position_bias",
    "rate",
    "verdict",
    "win_tie_loss",
]
