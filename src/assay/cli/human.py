"""`assay human ...`: the human evaluation app, its export and inter-annotator agreement."""

from __future__ import annotations

from pathlib import Path

import typer

from assay.cli.common import console, console_err
from assay.errors import require

human_app = typer.Typer(
    help="Human evaluation: a local web app where annotators rate model outputs blind.",
    no_args_is_help=True,
)


@human_app.command("serve")
def serve_cmd(
    items: Path = typer.Argument(..., help="ITEMS.jsonl: one item per line (see `assay.human.items`)."),
    db: Path = typer.Option(..., "--db", help="SQLite file for the ratings (created if missing)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", help="Port to listen on (0 picks a free one)."),
    mode: str = typer.Option("single", "--mode", help="single (score 1-10) or pairwise (A / B / tie)."),
) -> None:
    """Start the annotation web app for ITEMS on --db; every rating is committed as it is made.

    Single items: {"item_id", "prompt", "response", "model"}.
    Pairwise items: {"item_id", "prompt", "response_a", "response_b", "model_a", "model_b"}.
    """
    require("flask", "human")
    from assay.human.items import check_mode, load_items
    from assay.human.server import serve
    from assay.human.storage import Store

    checked = check_mode(mode)
    loaded = load_items(items, checked)  # validated fully before the database is touched
    store = Store.create(db, checked, loaded, source=str(items))

    def announce(url: str) -> None:
        console.print(f"{len(store.items)} {checked} items, ratings in {db}")
        console.print(f"annotators open [bold]{url}[/] (Ctrl-C to stop)", highlight=False)

    try:
        serve(store, host, port, announce=announce)
    except KeyboardInterrupt:
        console_err.print(f"stopped; every submitted rating is saved in {db}")


@human_app.command("export")
def export_cmd(
    db: Path = typer.Option(..., "--db", help="The ratings database written by `assay human serve`."),
    output: Path = typer.Option(..., "--output", "-o", help="JSONL file to write (replaced atomically)."),
) -> None:
    """Write every rating as JSONL, with pairwise sides resolved to the real model names."""
    from assay.human.export import export_rows, write_jsonl
    from assay.human.storage import Store

    rows = export_rows(Store.open(db))
    write_jsonl(rows, output)
    console_err.print(f"wrote {len(rows)} ratings to {output}")


def register(app: typer.Typer) -> None:
    """Add the `human` command group to the assay CLI."""
    app.add_typer(human_app, name="human")
