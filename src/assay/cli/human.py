"""`assay human ...`: the human evaluation app, its export and inter-annotator agreement."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from assay.cli.common import console, console_err, styled
from assay.errors import UsageError, require

if TYPE_CHECKING:  # the agreement module pulls in numpy and assay.stats: load it only when used
    from assay.human.agreement import AgreementReport

human_app = typer.Typer(
    help="Human evaluation: a local web app where annotators rate model outputs blind.",
    no_args_is_help=True,
)


@human_app.command("serve")
def serve_cmd(
    items: Path = typer.Argument(
        ..., metavar="ITEMS.jsonl", help="One item per line, format below (see also `assay.human.items`)."
    ),
    db: Path = typer.Option(..., "--db", help="SQLite file for the ratings (created if missing)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on (0 picks a free one)."),
    mode: str = typer.Option("single", "--mode", help="single (score 1-10) or pairwise (A / B / tie)."),
    threads: int = typer.Option(16, "--threads", min=1, max=256, help="Request threads of the server."),
    require_invite: bool = typer.Option(
        False,
        "--require-invite",
        help="Sign-in by invitation only (`assay human invite`); always on for a --host other than loopback.",
    ),
) -> None:
    """Start the annotation web app for ITEMS.jsonl on --db; every rating is committed as it is made.

    On 127.0.0.1 / localhost / ::1 annotators sign in by name. On any other --host (or with --require-invite)
    each annotator needs a personal link from `assay human invite NAME --db FILE`.

    Single items: {"item_id", "prompt", "response", "model"}.
    Pairwise items: {"item_id", "prompt", "response_a", "response_b", "model_a", "model_b"}.
    """
    require("flask", "human")
    require("waitress", "human")
    from assay.human.access import needs_invite
    from assay.human.items import check_mode, load_items
    from assay.human.server import listen, serve
    from assay.human.storage import Store

    checked = check_mode(mode)
    # every check that can fail runs before the database is created or changed
    loaded = load_items(items, checked)
    sock = listen(host, port)
    try:
        store = Store.create(db, checked, loaded, source=str(items))
    except BaseException:
        sock.close()
        raise

    invites_only = require_invite or needs_invite(host)

    def announce(url: str) -> None:
        console.print(f"{len(store.items)} {checked} items, ratings in {db}, {threads} threads")
        if invites_only:
            console.print(
                f"sign-in by invitation only; {store.n_invites()} annotators invited "
                f"(add one: assay human invite NAME --db {db} --url {url})",
                highlight=False,
            )
        console.print(styled("annotators open ", (url, "bold"), " (Ctrl-C to stop)"), highlight=False)

    with contextlib.suppress(KeyboardInterrupt):  # waitress itself returns on Ctrl-C; this covers start-up
        serve(store, sock, threads=threads, require_invite=invites_only, announce=announce)
    console_err.print(f"stopped; every submitted rating is saved in {db}")


@human_app.command("invite")
def invite_cmd(
    names: list[str] = typer.Argument(..., metavar="NAME...", help="Annotators to invite (one link each)."),
    db: Path = typer.Option(..., "--db", help="The ratings database of `assay human serve`."),
    url: str = typer.Option(
        "http://127.0.0.1:8765/", "--url", help="The address annotators reach the server at, for the links."
    ),
) -> None:
    """Print a personal sign-in link per annotator; a new link for a name replaces (revokes) the old one.

    The database keeps only a hash of each link's token: a lost link cannot be shown again, only replaced.
    Required for every annotator when the server listens on an address other than loopback.
    """
    from assay.human.access import clean_name, invite_link
    from assay.human.storage import Store

    cleaned = [clean_name(name) for name in names]  # every name is checked before anything is written
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--url {url!r} is not an http(s) address", hint="e.g. --url http://10.0.0.5:8765/")
    store = Store.open(db)
    for name in cleaned:
        typer.echo(f"{name}\t{invite_link(url, store.invite(name))}")
    console_err.print(f"invited {len(cleaned)} annotator(s); each link signs in as its name only")


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


@human_app.command("agreement")
def agreement_cmd(
    db: Path = typer.Option(..., "--db", help="The ratings database written by `assay human serve`."),
    annotator: list[str] = typer.Option(  # noqa: B006 - typer needs a list default
        [], "--annotator", "-a", help="Only these annotators (repeat the option); default: all."
    ),
    level: str | None = typer.Option(
        None, "--level", help="Krippendorff level: nominal, ordinal, interval, ratio (default by mode)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Inter-annotator agreement: Cohen's kappa per pair, Fleiss' kappa, Krippendorff's alpha."""
    import json
    from dataclasses import asdict

    from assay.human.agreement import agreement
    from assay.human.storage import Store

    report = agreement(Store.open(db), annotator, level)
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
        return
    print_report(report)


def print_report(report: AgreementReport) -> None:
    """Show an AgreementReport as tables."""
    from rich.table import Table

    label = "scores 1-10" if report.mode == "single" else "verdicts a / b / tie"
    console.print(
        f"{report.mode} mode, {label}: {len(report.annotators)} annotators, "
        f"{report.n_items_rated} items rated, {report.n_items_shared} rated by two or more",
        highlight=False,
    )
    pairs = Table("annotators", "items", "agreement %", "Cohen's kappa", title="Pairs")
    if report.mode == "single":
        pairs.add_column("quadratic kappa")
    for p in report.pairs:
        row = [
            f"{p.annotator_a} / {p.annotator_b}",
            str(p.n_items),
            _fmt(p.percent_agreement, 1),
            _fmt(p.kappa),
        ]
        pairs.add_row(*row, *([_fmt(p.weighted_kappa)] if report.mode == "single" else []))
    console.print(pairs)
    overall = Table("statistic", "value", "items", title="All annotators")
    overall.add_row("Fleiss' kappa", _fmt(report.fleiss_kappa), str(report.fleiss_n_items))
    overall.add_row(
        f"Krippendorff's alpha ({report.alpha_level})", _fmt(report.alpha), str(report.n_items_shared)
    )
    console.print(overall)
    for note in report.notes:
        console.print(f"note: {note}", highlight=False)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def register(app: typer.Typer) -> None:
    """Add the `human` command group to the assay CLI."""
    app.add_typer(human_app, name="human")
