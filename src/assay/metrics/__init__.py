"""Per-sample metrics on text and code, registered by name (see assay.metrics.catalog)."""

from assay.metrics.catalog import GROUPS, METRICS, MetricSpec, expand_metric_names, get_metric

__all__ = ["GROUPS", "METRICS", "MetricSpec", "expand_metric_names", "get_metric"]
