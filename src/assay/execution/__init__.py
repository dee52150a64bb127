"""Executors: how units of work (assay.execution.units) are computed, in this process or on a Ray cluster."""
