"""Task YAMLs that make lm-evaluation-harness read the same local benchmark files as assay.

lm-eval's built-in tasks fetch from the hub, which these machines cannot reach. For each task this writes
a small YAML into a temporary folder (pass it as `--include_path` / `TaskManager(include_path=...)`):
it `include:`s lm-eval's own installed YAML by absolute path, so the prompt, choices, target and any
`!function` hooks are lm-eval's unchanged, and overrides only the dataset fields so that rows come from
`dataset_path: json` with `data_files` pointing at the local `<id>/<config>/<split>.jsonl`.

For an mmlu subject, lm-eval's YAML reads the `cais/mmlu` config named after the subject; the local copy
holds only `all`, so the subject's rows are written, in file order, to a JSONL in the temporary folder.

    with lmeval_tasks(["arc_easy", "mmlu_high_school_geography"], Path("../shared/data")) as folder:
        lm_eval --tasks arc_easy --include_path folder ...
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lm_eval


@dataclass(frozen=True)
class LocalTask:
    """Where lm-eval's YAML for a task lives and which local file (and split name) it evaluates."""

    yaml: str  # path under lm_eval/tasks
    data_file: str  # path under the data folder
    split: str  # the split lm-eval evaluates, as named in its YAML


TASKS: dict[str, LocalTask] = {
    "arc_easy": LocalTask("arc/arc_easy.yaml", "allenai/ai2_arc/ARC-Easy/test.jsonl", "test"),
    "arc_challenge": LocalTask("arc/arc_challenge.yaml", "allenai/ai2_arc/ARC-Challenge/test.jsonl", "test"),
    "hellaswag": LocalTask(
        "hellaswag/hellaswag.yaml", "Rowan/hellaswag/default/validation.jsonl", "validation"
    ),
    "winogrande": LocalTask(
        "winogrande/default.yaml", "allenai/winogrande/winogrande_xl/validation.jsonl", "validation"
    ),
    "piqa": LocalTask("piqa/piqa.yaml", "ybisk/piqa/plain_text/validation.jsonl", "validation"),
    "gsm8k_cot": LocalTask("gsm8k/gsm8k-cot.yaml", "openai/gsm8k/main/test.jsonl", "test"),
}
MMLU_FILE = "cais/mmlu/all/test.jsonl"


def lmeval_tasks_dir() -> Path:
    """The installed lm-eval's task folder."""
    return Path(lm_eval.__file__).parent / "tasks"


def supported(task: str) -> bool:
    """True when a local YAML can be written for `task`."""
    return task in TASKS or task.startswith("mmlu_")


def _split_overrides(split: str, data_file: Path, fewshot_split: str | None = None) -> dict[str, Any]:
    """Dataset fields that replace the hub dataset with one local file, evaluated as `split`.

    No training/validation split is declared: the local folder may not have them. The few-shot split is
    `fewshot_split` (None: lm-eval then never loads a few-shot pool; "test" for MMLU's shots drawn first-n from
    the evaluated rows, leaving each row out of its own, as assay does without a dev split).
    """
    fields: dict[str, Any] = {
        "dataset_path": "json",
        "dataset_name": None,
        "dataset_kwargs": {"data_files": {split: str(data_file)}},
        "training_split": None,
        "validation_split": None,
        "test_split": None,
        "fewshot_split": fewshot_split,
    }
    fields["test_split" if split == "test" else "validation_split"] = split
    return fields


def _mmlu_rows(data_dir: Path, subject: str, out: Path) -> None:
    rows = []
    with (data_dir / MMLU_FILE).open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if row.get("subject") == subject:
                    rows.append(line if line.endswith("\n") else line + "\n")
    if not rows:
        raise ValueError(f"no rows with subject {subject!r} in {data_dir / MMLU_FILE}")
    out.write_text("".join(rows), encoding="utf-8")


def write_task_yaml(task: str, data_dir: Path, folder: Path, fewshot_split: str | None = None) -> Path:
    """Write `<folder>/<task>.yaml` (and, for mmlu, the subject's rows); return the YAML's path."""
    if task.startswith("mmlu_"):
        subject = task.removeprefix("mmlu_")
        base = lmeval_tasks_dir() / "mmlu" / "default" / f"{task}.yaml"
        if not base.exists():
            raise ValueError(f"lm-eval has no task {task}")
        rows = folder / f"{task}.jsonl"
        _mmlu_rows(data_dir, subject, rows)
        config: dict[str, Any] = {"include": str(base), **_split_overrides("test", rows, fewshot_split)}
    elif task in TASKS:
        spec = TASKS[task]
        data_file = data_dir / spec.data_file
        if not data_file.exists():
            raise ValueError(f"missing data file {data_file}")
        config = {"include": str(lmeval_tasks_dir() / spec.yaml), **_split_overrides(spec.split, data_file)}
    else:
        raise ValueError(f"no local lm-eval task for {task!r}; known: {', '.join(TASKS)}, mmlu_<subject>")
    # a JSON document is valid YAML, and needs no YAML writer
    path = folder / f"{task}.yaml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


@contextmanager
def lmeval_tasks(tasks: Sequence[str], data_dir: Path, fewshot_split: str | None = None) -> Iterator[Path]:
    """A temporary include folder holding a local YAML for each task; removed on exit. `fewshot_split` is
    given to the mmlu subjects (see _split_overrides)."""
    with tempfile.TemporaryDirectory(prefix="assay-lmeval-") as tmp:
        folder = Path(tmp)
        for task in tasks:
            write_task_yaml(task, data_dir, folder, fewshot_split)
        yield folder


def _instrument(counters: dict[str, float]) -> None:
    """Time lm-eval's HF loglikelihood and generation phases and count the tokens it forwards for
    loglikelihoods; what it does is unchanged."""
    import time

    from lm_eval.models.huggingface import HFLM

    loglikelihood, tokens_fn, model_call = HFLM.loglikelihood, HFLM._loglikelihood_tokens, HFLM._model_call
    generate_until = HFLM.generate_until

    def timed_generate(self: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return generate_until(self, requests, *args, **kwargs)
        finally:
            counters["seconds_generate"] += time.perf_counter() - started

    def timed(self: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return loglikelihood(self, requests, *args, **kwargs)
        finally:
            counters["seconds_loglikelihood"] += time.perf_counter() - started

    def counted(self: Any, requests: Any, *args: Any, **kwargs: Any) -> Any:
        # lm-eval forwards (context + continuation)[:-1] per request, once per distinct such input
        # (its one-token-continuation grouping), left-truncated to max_length
        inputs = {tuple(ctx + cont[:-1]) for _, ctx, cont in requests}
        counters["forward_tokens"] += sum(min(len(i), self.max_length) for i in inputs)
        counters["requests"] += len(requests)
        return tokens_fn(self, requests, *args, **kwargs)

    def call(self: Any, inps: Any, *args: Any, **kwargs: Any) -> Any:
        counters["padded_tokens"] += int(inps.numel())
        counters["forward_passes"] += 1
        return model_call(self, inps, *args, **kwargs)

    HFLM.loglikelihood = timed  # type: ignore[method-assign]
    HFLM._loglikelihood_tokens = counted  # type: ignore[method-assign]
    HFLM._model_call = call  # type: ignore[method-assign]
    HFLM.generate_until = timed_generate  # type: ignore[method-assign]


def _timed_cli(argv: list[str]) -> int:
    """`python lmeval_local.py STATS.json <lm_eval CLI args>`: lm_eval's own CLI, instrumented."""
    import atexit
    import sys

    from lm_eval.__main__ import cli_evaluate

    stats_file = Path(argv[0])
    counters: dict[str, float] = dict.fromkeys(
        ("seconds_loglikelihood", "seconds_generate", "forward_tokens", "padded_tokens", "forward_passes", "requests"),
        0,
    )
    _instrument(counters)
    atexit.register(lambda: stats_file.write_text(json.dumps(counters), encoding="utf-8"))
    sys.argv = ["lm_eval", *argv[1:]]
    cli_evaluate()
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_timed_cli(sys.argv[1:]))
