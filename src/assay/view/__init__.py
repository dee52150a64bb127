"""The sample explorer: `assay view RUN ...` (a local server) and the explorer pages of `assay report`.

runs.py     which runs and (model, task) units to show; finished and unfinished (`.partial`) runs
index.py    a per-samples-file index (byte offset, sample id and scores of every row), cached once
rows.py     a sample row as the pages show it (the choice each metric picked, the prompt's folded part)
server.py   the WSGI app and server of `assay view`
static_site.py  the same pages written as files for the offline report (data in chunks loaded on demand)
static/     the page, its script and style (plain JS, no network)
"""
