"""Reproducibility audits: re-run a recorded evaluation and compare (rerun, compare), or run a training
command twice and compare its weights and loss curve (train)."""

from assay.audit.compare import AuditReport, Difference, compare_runs

__all__ = ["AuditReport", "Difference", "compare_runs"]
