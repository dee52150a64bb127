"""Experiment tracking (MLflow, W&B offline), the model registry workflow and model fingerprints.

    log_run(run_dir, tracking_uri, experiment) -> str  (mlflow_log: the MLflow run id)
    resolve_registry_uri(ModelSpec) -> ModelSpec       (registry: models:/Name@alias, models:/Name/3)
    model_fingerprint(path) -> str                     (fingerprint)

mlflow and wandb are optional: they are imported by the functions that need them.
"""

from assay.tracking.fingerprint import model_fingerprint

__all__ = ["model_fingerprint"]
