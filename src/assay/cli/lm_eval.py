"""`assay lm-eval ARGS...` (and the `assay-lm-eval` program): lm-eval 0.4.13's command line, run by assay.

    assay lm-eval --model hf --model_args pretrained=DIR,dtype=bfloat16 --tasks mmlu,hellaswag,arc_easy \\
        --batch_size 8 --output_path ./results --log_samples

The arguments are lm-eval's (see _lmeval_args.py for which are accepted and which are refused); the tasks are
lm-eval's own (`lm:` tasks). The evaluation is an ordinary `assay run` (run folder, leaderboard rows, cache),
after which lm-eval's output files are written from the run folder and lm-eval's table is printed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import typer

from assay.cli._lmeval_args import DropIn, parse, translate
from assay.cli.run import build_config


def run_lm_eval(argv: list[str]) -> None:
    """Parse lm-eval's arguments, check everything, run, and write lm-eval's files and table."""
    from assay.lmeval.evaluate import results_path
    from assay.lmeval.output import write_lmeval_output
    from assay.preflight import check_run, check_writable_folder
    from assay.runner import run_evaluation
    from assay.runs.folder import open_run, read_json_file

    drop = translate(parse(argv))
    if drop.debug:
        os.environ["ASSAY_DEBUG"] = "1"
    if drop.cache_dir:
        os.environ["ASSAY_CACHE"] = str(Path(drop.cache_dir).expanduser().resolve())
    config = build_config(**drop.fields)
    checked = check_run(config)
    if drop.output_path:
        out = Path(drop.output_path)
        check_writable_folder(out.parent if out.suffix == ".json" else out, "--output_path")
    started = time.perf_counter()
    _, folder = run_evaluation(config, show_progress=True, checked=checked)
    run = open_run(folder)
    how = replace(drop.how, seconds=time.perf_counter() - started)
    written = write_lmeval_output(run, Path(drop.output_path), drop.log_samples, how) if drop.output_path else []
    raw = read_json_file(results_path(folder / "lm_eval", run.record.models[0].name))
    _print(drop, raw)
    if drop.wandb:
        _log_wandb(drop, folder)
    for path in written:
        print(f"wrote {path}", file=sys.stderr)
    print(f"assay run folder: {folder}", file=sys.stderr)


def _print(drop: DropIn, raw: dict[str, Any]) -> None:
    """What lm-eval prints at the end: the settings line and its results (and groups) tables."""
    from lm_eval.utils import handle_non_serializable, make_table

    if drop.show_config:
        print(json.dumps(raw, indent=2, default=handle_non_serializable, ensure_ascii=False))
    cfg = drop.how.config
    print(f"{drop.how.model_source} ({drop.how.model_args}), gen_kwargs: ({cfg['gen_kwargs']}), "
          f"limit: {cfg['limit']}, num_fewshot: {drop.fields['num_fewshot']}, "
          f"batch_size: {cfg['batch_size']}")  # fmt: skip
    print(make_table(raw))
    if "groups" in raw:
        print(make_table(raw, "groups"))


def _log_wandb(drop: DropIn, folder: Path) -> None:
    from assay.tracking.wandb_log import log_run_wandb

    if drop.wandb.get("mode"):
        os.environ["WANDB_MODE"] = str(drop.wandb["mode"])
    where = log_run_wandb(folder, project=drop.wandb.get("project"), run_name=drop.wandb.get("name"),
                          wandb_dir=Path(drop.wandb["dir"]) if drop.wandb.get("dir") else None)  # fmt: skip
    print(f"logged to W&B: {where} (sync later with: wandb sync {where})", file=sys.stderr)


def register(app: typer.Typer) -> None:
    @app.command(
        "lm-eval",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
        add_help_option=False,  # --help is lm-eval's, printed by its parser
    )
    def lm_eval(ctx: typer.Context) -> None:
        """lm-eval's command line (lm_eval [run] --model hf --model_args ... --tasks ...), run by assay."""
        run_lm_eval(list(ctx.args))


def main() -> None:
    """The `assay-lm-eval` program: `assay lm-eval` under a name that can replace `lm_eval` in a script.

    assay's entry point picks the one command module to import from argv (a short start-up), so argv is
    rewritten to the `assay lm-eval ...` it stands for before that module is imported."""
    sys.argv = ["assay", "lm-eval", *sys.argv[1:]]
    from assay.cli.main import main as assay_main

    assay_main()
