"""lm-eval's index of its installed task folder, kept in the user cache and read back in about a tenth of a second.

lm-eval indexes its ~14,000 installed YAML files at every start (seconds of YAML parsing, in lm-eval's own CLI
too). That index derives from the install alone, so it is kept per lm-eval version and install folder. Each
entry's parsed config (`Entry.cfg`) is stored as its own pickle and decoded only when read: lm-eval reads it
only for entries without a YAML file, so a run unpickles ~14,000 small records instead of ~14,000 configs
(0.46 s -> 0.13 s on this machine). A user's include paths are indexed afresh each time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import lm_eval
from lm_eval.tasks import manager
from lm_eval.tasks._index import Entry, Kind

FORMAT = 2  # of the stored file: (name, kind name, yaml path, tags, pickled cfg) per entry
_UNREAD = object()


class StoredEntry(Entry):
    """An index entry whose config is decoded from its stored pickle the first time it is read."""

    def __init__(self, name: str, kind: Kind, yaml_path: Path | None, tags: set[str], blob: bytes) -> None:
        self.name, self.kind, self.yaml_path, self.tags = name, kind, yaml_path, tags
        self._blob = blob
        self._cfg: Any = _UNREAD

    @property  # type: ignore[override]
    def cfg(self) -> dict[str, Any] | None:
        if self._cfg is _UNREAD:
            self._cfg = pickle.loads(self._blob)
        return self._cfg  # type: ignore[no-any-return]

    @cfg.setter
    def cfg(self, value: dict[str, Any] | None) -> None:
        self._cfg = value

    def __reduce__(self) -> tuple[Any, ...]:  # a plain Entry travels, the class stays private to this process
        return Entry, (self.name, self.kind, self.yaml_path, self.cfg, self.tags)


@contextmanager
def cached_default_index() -> Iterator[None]:
    """While active, lm-eval's TaskManager reads the index of its own task folder from the user cache."""
    defaults = Path(manager.__file__).parent.resolve()
    where = hashlib.sha256(str(defaults).encode()).hexdigest()[:12]
    cache = index_folder() / f"lmeval-index-{lm_eval.__version__}-{where}.v{FORMAT}.pickle"
    plain = manager.TaskIndex

    class CachedIndex(plain):  # type: ignore[misc,valid-type]
        @staticmethod
        def build(paths: Iterable[Path], *, resolve_includes: bool = True) -> dict[str, Any]:
            index: dict[str, Any] = {}
            for root in paths:
                if Path(root).resolve() == defaults and resolve_includes:
                    index.update(read_or_build(cache, partial(plain.build, [root])))
                else:
                    index.update(plain.build([root], resolve_includes=resolve_includes))
            return index

    manager.TaskIndex = CachedIndex
    try:
        yield
    finally:
        manager.TaskIndex = plain


def index_folder() -> Path:
    """The user cache folder (not ASSAY_CACHE, the response cache: the index derives from the install alone, and
    rows.py's Arrow copies from the data files)."""
    from platformdirs import user_cache_dir

    return Path(os.environ.get("ASSAY_LMEVAL_INDEX_DIR") or user_cache_dir("assay"))


def read_or_build(cache: Path, build: Callable[[], dict[str, Entry]]) -> dict[str, Entry]:
    """The stored index, or `build()`'s, stored for next time (a read-only or full folder: built again then)."""
    try:
        with cache.open("rb") as f:
            rows = pickle.load(f)
        return {name: StoredEntry(name, Kind[kind], Path(path) if path else None, set(tags), blob)
                for name, kind, path, tags, blob in rows}  # fmt: skip
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, KeyError, ValueError, TypeError):
        pass
    index = build()
    rows = [(name, e.kind.name, str(e.yaml_path) if e.yaml_path else None, sorted(e.tags), pickle.dumps(e.cfg))
            for name, e in index.items()]  # fmt: skip
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(rows, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache)
    except OSError:
        pass
    return index
