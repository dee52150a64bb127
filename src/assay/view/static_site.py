"""The explorer as files, for `assay report`: the same page, its data split into scripts loaded on demand.

    explore/index.html                      the page (opens from disk: file://, no server, no network)
    explore/static/{app,data}.js, style.css
    explore/data/manifest.js                runs, units, and `assay compare`'s figures for the report's pairs
    explore/data/<unit>/index.js            ids and per-metric values of every row (what the page filters on)
    explore/data/<unit>/c<k>.js             rows k*CHUNK .. (k+1)*CHUNK-1, as the page shows them

Data files are scripts (`assayData(name, payload)`) rather than JSON because a page opened from disk may not
fetch() other files; a script tag may load them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from assay.errors import AssayError
from assay.view.compare import command_line, compare_units
from assay.view.index import load_index
from assay.view.rows import for_page
from assay.view.runs import Unit, ViewRun
from assay.view.server import manifest, page_html, static_text

CHUNK = 200  # rows per data file: a page of 50 rows needs one or two


def _script(name: str, payload: Any) -> str:
    # "</" inside a string would end a script block if it were inlined; here it only keeps the file plain
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f"assayData({json.dumps(name)},{text});\n"


def _rows(unit: Unit) -> Iterator[dict[str, Any]]:
    with unit.path.open("rb") as fh:
        number = 0
        for line in fh:
            if line.strip():
                row = for_page(json.loads(line), number)
                del row["prompt"]  # = fold + question: the page puts it back (halves the data files)
                yield row
                number += 1


def _chunks(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    part: list[dict[str, Any]] = []
    for row in rows:
        part.append(row)
        if len(part) == CHUNK:
            yield part
            part = []
    if part:
        yield part


def _compares(pairs: Iterable[tuple[Unit, Unit]], runs: dict[str, ViewRun]) -> dict[str, Any]:
    """`assay compare`'s figures for every metric the two units of each pair share."""
    out: dict[str, Any] = {}
    for a, b in pairs:
        shared = [m for m in load_index(a.path).metrics if m in load_index(b.path).metrics]
        for metric in shared:
            try:
                result = compare_units(a, b, metric, runs)
            except AssayError:
                continue  # e.g. no sample scored on both sides: the page says it was not compared
            out[f"{a.key}|{b.key}|{metric}"] = {**result, "command": command_line(a, b, metric, runs)}
    return out


def write_explorer(target: Path, runs: list[ViewRun], pairs: Iterable[tuple[Unit, Unit]] = (), back: str = "") -> Path:
    """Write the explorer for `runs` into `target` and return its index.html."""
    (target / "static").mkdir(parents=True, exist_ok=True)
    for name in ("app.js", "data.js", "style.css"):
        (target / "static" / name).write_text(static_text(name), encoding="utf-8")
    data = target / "data"
    data.mkdir(parents=True, exist_ok=True)
    for unit in (u for r in runs for u in r.units):
        folder = data / unit.key
        folder.mkdir(parents=True, exist_ok=True)
        index = load_index(unit.path)
        (folder / "index.js").write_text(_script(f"{unit.key}/index", index.client_json()), encoding="utf-8")
        for k, part in enumerate(_chunks(_rows(unit))):
            (folder / f"c{k}.js").write_text(_script(f"{unit.key}/c{k}", part), encoding="utf-8")
    by_id = {r.run_id: r for r in runs}
    info = {**manifest(runs, "static"), "chunk": CHUNK, "compares": _compares(pairs, by_id)}
    (data / "manifest.js").write_text(_script("manifest", info), encoding="utf-8")
    config = json.dumps({"mode": "static", "base": "data/"})
    page = target / "index.html"
    page.write_text(page_html(config, "static/", back), encoding="utf-8")
    return page
