"""Experiment tracking (MLflow, W&B offline) and the model registry workflow.

    log_run(run_dir, tracking_uri, experiment) -> str  (mlflow_log: the MLflow run id)
    resolve_registry_uri(ModelSpec) -> ModelSpec       (model_registry: models:/Name@alias, models:/Name/3)

A model's identity (the backend's fingerprint, the files digest) is assay.models.identity's one function.
mlflow and wandb are optional: they are imported by the functions that need them.
"""
