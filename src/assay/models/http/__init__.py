"""HTTP plumbing for server backends: a concurrent, retrying request pool and its retry policy."""

from assay.models.http.pool import HttpPool, run_sync
from assay.models.http.retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["HttpPool", "RetryPolicy", "is_retryable_status", "parse_retry_after", "run_sync"]
