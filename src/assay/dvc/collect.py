"""The pipeline's leaderboard: rows of every stage's run folder, named by the pipeline's model keys.

Built afresh from the run folders on each `dvc repro` of the leaderboard stage (a DVC output is the product of
its inputs, not an append log), so two variants of one model (same display name, other args) stay apart.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assay.errors import UsageError
from assay.leaderboard.store import LeaderboardRow, append_rows, rows_from_record
from assay.runs.folder import open_run


def parse_pairs(pairs: list[str]) -> list[tuple[str, Path]]:
    """`KEY=RUN_FOLDER` arguments -> (key, folder)."""
    out = []
    for pair in pairs:
        key, sep, folder = pair.partition("=")
        if not sep or not key or not folder:
            raise UsageError(f"{pair!r} is not KEY=RUN_FOLDER", hint="e.g. smollm2-135m=runs/smollm2-135m-arc_easy")
        out.append((key, Path(folder)))
    return out


def pipeline_rows(pairs: list[tuple[str, Path]]) -> list[LeaderboardRow]:
    """Every leaderboard row of the given run folders, the model named by its pipeline key."""
    rows: list[LeaderboardRow] = []
    for key, folder in pairs:
        try:
            record = open_run(folder).record
        except UsageError:
            raise UsageError(f"{folder} is not a finished run folder", hint="run `dvc repro`") from None
        rows += [replace(row, model=key) for row in rows_from_record(record)]
    return rows


def write_leaderboard(pairs: list[tuple[str, Path]], output: Path) -> int:
    """Replace `output` with the rows of the run folders; the number of rows written."""
    rows = pipeline_rows(pairs)  # read everything before touching the file
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(f".{output.name}.assay-tmp")
    tmp.unlink(missing_ok=True)
    try:
        count = append_rows(rows, tmp)
        tmp.replace(output)
    finally:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.lock").unlink(missing_ok=True)  # the append's lock file: nobody else writes tmp
    return count
