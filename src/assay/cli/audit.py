"""`assay audit RUN` and `assay audit train -- COMMAND`: reproducibility audits."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import typer
from rich.table import Table

from assay.cli.common import console, styled
from assay.errors import UsageError

AUDIT_HELP = (
    "Re-run a recorded evaluation from its run record (no cache) and compare every sample and metric: "
    "exit 0 when reproduced, 1 when not. `assay audit train -- COMMAND ...` runs a training command twice "
    "with ASSAY_SEED and compares its weights and loss curve."
)


def register(app: typer.Typer) -> None:
    """Add the `audit` command (RUN, or `train -- COMMAND`)."""

    @app.command("audit", help=AUDIT_HELP)
    def audit(
        run: str = typer.Argument(..., help="A run id or run folder, or `train`."),
        command: list[str] | None = typer.Argument(
            None, help="With `train`: the training command, after --."
        ),
        output: Path = typer.Option(Path("runs"), "--output", help="Where run ids are looked up."),
        data_dir: str | None = typer.Option(
            None, "--data-dir", help="Data folder for the re-run (default: recorded)."
        ),
        tolerance: float | None = typer.Option(
            None,
            "--tolerance",
            help="Allowed |difference| of floats (default: 0 on the same machine, else 1e-3).",
        ),
        workdir: Path | None = typer.Option(
            None, "--workdir", help="Where the re-run(s) go (default: a temp folder)."
        ),
        seed: int = typer.Option(1234, "--seed", help="train: the ASSAY_SEED both runs get."),
        timeout: float | None = typer.Option(None, "--timeout", help="train: seconds allowed per run."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
    ) -> None:
        if run == "train":
            _train(command or [], workdir, seed, tolerance or 0.0, timeout)
            return
        if command:
            raise UsageError(
                f"unexpected arguments {' '.join(command)!r}", hint="only `assay audit train` takes a command"
            )
        _evaluation(run, output, data_dir, tolerance, workdir, quiet)


def _evaluation(run: str, output: Path, data_dir: str | None, tolerance: float | None, workdir: Path | None,
                quiet: bool) -> None:  # fmt: skip
    from assay.audit.rerun import audit_run

    result = audit_run(run, runs_output=output, workdir=workdir, data_dir=data_dir, tolerance=tolerance,
                       show_progress=not quiet)  # fmt: skip
    report = result.report
    console.print(
        f"re-ran {report.original} into {result.rerun_dir}: {result.requests_computed} requests computed, "
        f"{result.requests_cached} from cache, {result.forward_passes} forward passes"
    )
    console.print(
        f"compared {report.samples_compared} samples, tolerance {report.tolerance:g}, "
        f"largest loglikelihood difference {report.max_float_diff:.3g}"
    )
    for note in report.notes:
        console.print(f"note: {note}; the re-run recomputed everything")
    if report.differences:
        table = Table(title="differences")
        for col in ("kind", "where", "detail", "likely cause"):
            table.add_column(col, overflow="fold")
        for d in report.differences:
            table.add_row(d.kind, d.where, d.detail, d.cause)
        console.print(table)
    if report.reproduced:
        console.print(styled(("reproduced", "bold green"), ": every sample and metric matches"))
        return
    console.print(styled(("not reproduced", "bold red"), f": likely cause(s): {', '.join(report.causes) or 'unknown'}"))
    sys.exit(1)  # not typer.Exit: the CLI runs click in non-standalone mode, which drops its code


def _train(
    command: list[str], workdir: Path | None, seed: int, tolerance: float, timeout: float | None
) -> None:
    from assay.audit.train import audit_training

    base = workdir or Path(tempfile.mkdtemp(prefix="assay-audit-train-"))
    console.print(f"running the training command twice with ASSAY_SEED={seed} under {base}")
    result = audit_training(command, base, seed=seed, tolerance=tolerance, timeout=timeout)
    table = Table(title="weights")
    for col in ("file", "same bytes", "max |diff|", "note"):
        table.add_column(col)
    for w in result.weights:
        diff = "-" if w.max_abs_diff is None else f"{w.max_abs_diff:.3g}"
        table.add_row(w.path, "yes" if w.identical else "no", diff, w.note)
    console.print(table)
    if not result.weights:
        console.print("no weight files were written under ASSAY_AUDIT_DIR")
    loss = "-" if result.loss_max_diff is None else f"{result.loss_max_diff:.3g}"
    console.print(f"loss curve: {result.loss_steps} steps, max |diff| {loss} {result.loss_note}".rstrip())
    if result.reproduced:
        console.print(styled(("reproduced", "bold green"), f": both runs agree (tolerance {tolerance:g})"))
        return
    console.print(styled(("not reproduced", "bold red"), ": the two runs with the same seed differ"))
    sys.exit(1)  # not typer.Exit: the CLI runs click in non-standalone mode, which drops its code
