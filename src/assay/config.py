"""Validated configuration: what a run evaluates and how. Unknown keys are errors, not silent defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(Frozen):
    """One model to evaluate: a backend (or alias) with its arguments and a display name."""

    name: str = ""  # display name; defaults to the alias or the model's path/id
    model: str  # backend name (`hf`, `openai-chat`, ...) or alias (`smollm2-135m`)
    args: dict[str, Any] = Field(default_factory=dict)


class RunConfig(Frozen):
    """Everything `assay run` needs; saved as runs/<id>/config.json so a run can be resumed or audited."""

    models: tuple[ModelSpec, ...]
    tasks: tuple[str, ...]  # names, groups or glob patterns, as given
    limit: int | float | None = None  # first N rows of each (sub)task, in dataset order; (0, 1): a fraction (lm:)
    num_fewshot: int | None = None  # None: each task's default
    batch_size: int | str = 8  # an int or "auto"
    seed: int = 1234
    fewshot_seed: int = 1234
    fewshot_split: str | None = None  # where few-shot examples come from; None: the task's split, else train, ...
    # lm-eval's prompt options, for lm: tasks (lm-eval renders the prompts; assay's tasks set chat per task)
    apply_chat_template: bool = False
    fewshot_as_multiturn: bool = True  # lm-eval's default: with a chat template, each example is a user/assistant turn
    system_instruction: str | None = None
    samples: dict[str, tuple[int, ...]] | None = None  # lm: tasks: lm-eval's document ids per task, not --limit
    predict_only: bool = False  # lm: tasks: answers and sample logs only, no metrics (lm-eval's --predict_only)
    metadata: dict[str, Any] = Field(default_factory=dict)  # lm: tasks: merged into each task's metadata (--metadata)
    data_dir: str | None = None
    output: str = "runs"
    run_dir: str | None = None  # the run folder exactly (instead of <output>/<run_id>), e.g. for DVC stages
    leaderboard: str | None = "data/leaderboard.csv"  # None: append no rows
    use_cache: bool = True
    device: str | None = None
    gen_kwargs: dict[str, Any] = Field(default_factory=dict)  # overrides of the tasks' generation settings
    n_samples: int | None = None  # generations per prompt (pass@k); None: the task's default
    track: bool = False
    tracking_uri: str | None = None
    experiment: str | None = None
    task_files: tuple[str, ...] = ()  # extra task YAML files or folders
    # how the units of work are computed, not what: left out of config.json (results do not depend on it), so a
    # run can be resumed with another executor or worker count
    executor: str = Field(default="local", exclude=True)  # local | ray
    ray_address: str | None = Field(default=None, exclude=True)  # None: a new local cluster; "auto"; HOST:PORT
    workers: int = Field(default=1, exclude=True)  # Ray actors, one model replica each
    worker_resources: str | None = Field(default=None, exclude=True)  # per worker, e.g. "cpu=1,gpu=1"

    @field_validator("executor")
    @classmethod
    def _executor(cls, v: str) -> str:
        if v not in ("local", "ray"):
            raise ValueError(f"unknown executor {v!r}: use local or ray")
        return v

    @field_validator("workers")
    @classmethod
    def _workers(cls, v: int) -> int:
        if v < 1:
            raise ValueError("--workers must be at least 1")
        return v

    @field_validator("limit")
    @classmethod
    def _positive_limit(cls, v: int | float | None) -> int | float | None:
        if v is not None and v <= 0:
            raise ValueError("--limit must be a positive number of rows")
        if isinstance(v, float) and v >= 1:
            raise ValueError("--limit must be a whole number of rows or a fraction below 1")
        return v

    @model_validator(mode="after")
    def _lmeval_only(self) -> RunConfig:
        """A fraction for --limit, document ids and predict-only are lm-eval's, so only for lm: tasks."""
        given = [flag for flag, on in (("a fractional limit", isinstance(self.limit, float)),
                                       ("samples", self.samples is not None),
                                       ("predict_only", self.predict_only)) if on]  # fmt: skip
        if given and not all(t.startswith("lm:") for t in self.tasks):
            raise ValueError(f"{given[0]} applies to lm-eval's tasks (lm:NAME) only")
        if self.samples is not None and self.limit is not None:
            raise ValueError("samples and limit exclude each other (as in lm-eval)")
        return self

    @field_validator("num_fewshot")
    @classmethod
    def _fewshot(cls, v: int | None) -> int | None:
        if v is not None and v < 0:
            raise ValueError("--num-fewshot must be 0 or more")
        return v

    @field_validator("n_samples")
    @classmethod
    def _n(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError("--n must be at least 1 (generations per prompt)")
        return v

    @field_validator("batch_size")
    @classmethod
    def _batch(cls, v: int | str) -> int | str:
        if isinstance(v, str):
            if v == "auto":
                return v
            if not v.isdigit():
                raise ValueError("--batch-size takes a positive integer or 'auto'")
            v = int(v)
        if v <= 0:
            raise ValueError("--batch-size must be positive")
        return v

    @property
    def output_dir(self) -> Path:
        return Path(self.output)
