"""Which DVC version of the data a run read: the `.dvc` file that tracks `--data-dir` (or a folder above it).

`dvc add data` writes `data.dvc` beside the folder, holding the md5 of the folder as DVC stores it. A run records
`<file>.dvc md5:<hash>` next to each task's dataset sha256, so `git log -p data.dvc` tells which commit's data a
run used. Read as plain YAML: no DVC installation is needed to record it.
"""

from __future__ import annotations

from pathlib import Path

from assay.data.sources import read_yaml
from assay.errors import AssayError


def data_version(data_dir: Path) -> str:
    """`<file>.dvc md5:<hash>` of the `.dvc` file tracking `data_dir` or a parent folder, else ""."""
    path = data_dir.resolve()
    for folder in (path, *path.parents):
        if not folder.name:  # the filesystem root
            break
        dvc_file = folder.with_name(folder.name + ".dvc")
        if dvc_file.is_file():
            return _recorded(dvc_file)
        if (folder / ".dvc").is_dir():  # the repository's root: nothing above it is part of it
            return ""
    return ""


def _recorded(dvc_file: Path) -> str:
    try:
        data = read_yaml(dvc_file)
        out = data["outs"][0]
    except (AssayError, KeyError, IndexError, TypeError):  # not a file DVC wrote: no recorded version
        return ""
    digest = out.get("md5") or out.get("hash") or ""
    return f"{dvc_file.name} md5:{digest}" if digest else ""
