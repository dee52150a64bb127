"""lm-eval datasets read from assay's data folder: `<data-dir>/<dataset_path>/<dataset_name>/<split>.jsonl`.

lm-eval loads a task's rows with `datasets.load_dataset(dataset_path, dataset_name)` while the task is built
and reads its few-shot split at once. While lm-eval builds tasks under `local_rows`, that call is answered
from the data folder when it holds the dataset, and a task's config is adjusted first to the splits the folder
has: a training or validation split it lacks is treated as absent (zero-shot tasks then need none), and
`--fewshot-split` names the split few-shot examples come from where the task's own is missing (MMLU's `dev`).

Each split is converted once to an Arrow copy in assay's user cache (keyed by the file's path, size and
modification time) and memory-mapped from there, as `datasets` does with a hub dataset: a task's
process_docs (`dataset.map(...)`) then finds its result in `datasets`' own map cache beside that copy on the
next run instead of recomputing it (hellaswag: 0.5 s over 10,042 rows, for 200 scored). Where that copy
cannot be written (a read-only or nearly full cache folder), the rows are held in memory as before.

Local files in lm-eval's own form (`dataset_path: json` + `dataset_kwargs: {data_files: ...}`) and datasets the
folder does not hold go to `datasets` as lm-eval sends them (the hub, where one is reachable).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from assay.data.sources import hub_unreachable, read_jsonl
from assay.errors import DataError

_FILE_BUILDERS = {"json", "csv", "parquet", "text", "arrow"}  # datasets' builders for local files


def _folder(data_dir: Path | None, path: str | None, name: str | None) -> Path | None:
    if data_dir is None or not path or path in _FILE_BUILDERS:
        return None
    folder = data_dir / path / (name or "default")
    if not name and not folder.is_dir():  # no config named: as on the hub, a dataset's only config
        configs = [f for f in (data_dir / path).glob("*") if f.is_dir()] if (data_dir / path).is_dir() else []
        folder = configs[0] if len(configs) == 1 else folder
    return folder if folder.is_dir() else None


def _splits(folder: Path) -> set[str]:
    return {f.stem for f in folder.glob("*.jsonl")}


def adjusted(config: dict[str, Any] | None, data_dir: Path | None, fewshot_split: str | None) -> dict[str, Any] | None:
    """A task config with the splits its local dataset folder lacks turned off (see the module docstring)."""
    if not config:
        return config
    folder = _folder(data_dir, config.get("dataset_path"), config.get("dataset_name"))
    if folder is None:
        return config
    have = _splits(folder)
    out = dict(config)
    for key in ("training_split", "validation_split"):
        if out.get(key) and out[key] not in have:
            out[key] = None
    own = out.get("fewshot_split")
    if own and own not in have:
        out["fewshot_split"] = None
    if fewshot_split and not any(out.get(k) for k in ("fewshot_split", "training_split", "validation_split")):
        if fewshot_split not in have:
            raise DataError(f"--fewshot-split {fewshot_split}: {folder} has no {fewshot_split}.jsonl",
                            hint=f"splits there: {', '.join(sorted(have))}")  # fmt: skip
        out["fewshot_split"] = fewshot_split
    test = config.get("test_split") or config.get("validation_split")  # the split scored, before any is off
    if test and test not in have:
        raise DataError(f"task {out.get('task')!r} reads split {test!r} of {config.get('dataset_path')} "
                        f"({config.get('dataset_name') or 'default'}), which {folder} does not have",
                        hint=f"splits there: {', '.join(sorted(have)) or 'none'}")  # fmt: skip
    return out


# A task's documents, each list computed once per task. lm-eval asks for them several times while it builds and
# evaluates a task (hellaswag: validation_docs five times), running the task's process_docs over the whole split
# each time; from the hub, `datasets` answers the repeats from its on-disk cache of map(), but rows read from the
# data folder are in memory, where map() has no cache (hellaswag: 1.1 s a time over 10,042 rows).
DOCS = ("training_docs", "validation_docs", "test_docs", "fewshot_docs")


@contextmanager
def local_rows(data_dir: Path | None, fewshot_split: str | None) -> Iterator[None]:
    """While lm-eval builds tasks: rows from the data folder, and configs adjusted to it (module docstring).

    lm-eval has no hook for where rows come from, so `datasets.load_dataset` and ConfigurableTask's
    constructor are wrapped for the duration of the build and restored after it.
    """
    import datasets
    from lm_eval.api import task as task_module

    load_dataset = datasets.load_dataset
    construct = task_module.ConfigurableTask.__init__

    def load(path: str | None = None, name: str | None = None, **kwargs: Any) -> Any:
        folder = _folder(data_dir, path, name)
        if folder is not None:
            return datasets.DatasetDict({f.stem: split_rows(f) for f in sorted(folder.glob("*.jsonl"))})
        return _from_datasets(load_dataset, data_dir, path, name, **kwargs)

    def init(self: Any, data_dir_: Any = None, cache_dir: Any = None, download_mode: Any = None,
             config: dict[str, Any] | None = None) -> None:  # fmt: skip
        for method in DOCS:  # see DOCS
            setattr(self, method, functools.cache(getattr(self, method)))
        construct(self, data_dir_, cache_dir, download_mode, config=adjusted(config, data_dir, fewshot_split))

    datasets.load_dataset = load
    task_module.ConfigurableTask.__init__ = init  # type: ignore[method-assign]
    try:
        yield
    finally:
        datasets.load_dataset = load_dataset
        task_module.ConfigurableTask.__init__ = construct  # type: ignore[method-assign]


def _from_datasets(load_dataset: Any, data_dir: Path | None, path: str | None, name: str | None, **kwargs: Any) -> Any:
    """A dataset the data folder does not hold: lm-eval's own local-file form, or the hub."""
    where = f"{path}/{name or 'default'}"
    if path not in _FILE_BUILDERS and hub_unreachable():
        place = f"in {data_dir} (as {where}/<split>.jsonl)" if data_dir else "(no --data-dir given)"
        raise DataError(f"dataset {where} is not {place} and the hub cannot be reached",
                        hint="copy its splits there, or pass --data-dir with a folder that has them")  # fmt: skip
    try:
        return load_dataset(path=path, name=name, **kwargs)
    except Exception as exc:
        first = (str(exc).splitlines() or [""])[0][:200]
        raise DataError(
            f"cannot load dataset {where}: {type(exc).__name__}: {first}",
            hint="pass --data-dir with <id>/<config>/<split>.jsonl files, or fix dataset_kwargs",
        ) from exc


def split_rows(file: Path) -> Any:
    """One split's rows as a `datasets.Dataset`: memory-mapped from its Arrow copy (made now if missing), or in
    memory where no copy can be kept (module docstring)."""
    import datasets

    stat = file.stat()
    key = hashlib.sha256(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:20]
    stored = _rows_folder() / key
    if stored.exists():
        try:
            return datasets.load_from_disk(str(stored))
        except Exception:  # noqa: BLE001 - a damaged copy (a truncated file, a foreign folder): made again
            shutil.rmtree(stored, ignore_errors=True)
    rows = datasets.Dataset.from_list(read_jsonl(file))
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(stored.parent).free < 4 * stat.st_size + (256 << 20):  # room for map() caches too
            return rows
        tmp = stored.with_name(f"{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        rows.save_to_disk(str(tmp))
        try:
            os.replace(tmp, stored)
        except OSError:  # another process stored it first
            shutil.rmtree(tmp, ignore_errors=True)
        return datasets.load_from_disk(str(stored))
    except OSError:
        return rows


def _rows_folder() -> Path:
    """Where Arrow copies of data-folder splits are kept (ASSAY_LMEVAL_ROWS_DIR, else beside lm-eval's index)."""
    from assay.lmeval.index import index_folder

    return Path(os.environ.get("ASSAY_LMEVAL_ROWS_DIR") or index_folder() / "lmeval-rows")
