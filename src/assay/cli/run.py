"""`assay run`: evaluate models on tasks (options familiar to lm-evaluation-harness users)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from assay.cli._table import Cell, Col, print_table
from assay.cli.common import console, parse_kv
from assay.config import ModelSpec, RunConfig
from assay.data.sources import read_yaml
from assay.errors import ConfigError, UsageError
from assay.preflight import check_run
from assay.records import RunRecord
from assay.runs.folder import read_config_as


def models_from_cli(
    models: list[str], model_args: list[str], models_file: Path | None
) -> tuple[ModelSpec, ...]:
    """--model/--model-args pair by position (`name=` among the args is the display name, not a backend arg);
    --models FILE adds a YAML list of {name, model, args}."""
    if len(model_args) > len(models):
        raise UsageError(
            "more --model-args than --model options", hint="each --model-args pairs with one --model"
        )
    specs = []
    for i, m in enumerate(models):
        args = parse_kv(model_args[i] if i < len(model_args) else None)
        specs.append(ModelSpec(name=str(args.pop("name", "")), model=m, args=args))
    if models_file:
        try:
            entries = read_yaml(models_file) or []
            specs.extend(ModelSpec.model_validate(e) for e in entries)
        except (OSError, ValidationError, TypeError) as exc:
            raise ConfigError(
                f"{models_file}: not a YAML list of {{name, model, args}}: {str(exc).splitlines()[0]}"
            ) from exc
    if not specs:
        raise UsageError(
            "no model given", hint="pass --model smollm2-135m, or --model hf --model-args pretrained=DIR"
        )
    return tuple(specs)


def parse_metadata(text: str | None) -> dict[str, Any]:
    """--metadata: a JSON object, or key=value,... (values typed as --model-args's)."""
    if not text or not text.strip():
        return {}
    if not text.lstrip().startswith(("{", "[", '"')):
        return parse_kv(text, "--metadata:",
                        hint='e.g. --metadata max_seq_lengths=4096 or --metadata \'{"max_seq_lengths": [4096]}\'')
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--metadata: not a JSON object: {exc.msg} at character {exc.pos}",
                         hint='e.g. --metadata \'{"max_seq_lengths": [4096]}\' or --metadata key=value') from exc
    if not isinstance(value, dict):
        raise UsageError("--metadata: not a JSON object", hint='e.g. --metadata \'{"max_seq_lengths": [4096]}\'')
    return value


def build_config(**fields: Any) -> RunConfig:
    try:
        return RunConfig(**fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        message = str(first["msg"]).removeprefix("Value error, ")
        raise UsageError(f"{'.'.join(str(p) for p in first['loc'])}: {message}") from exc


def print_results(record: RunRecord, run_dir: Path) -> None:
    cells: list[list[Cell]] = []
    for r in record.results:
        for name, mv in r.metrics.items():
            stderr = "" if mv.stderr is None else f"{mv.stderr:.4f}"
            task = f"{r.task} (group)" if r.is_group else r.task
            cells.append([r.model, task, name, f"{mv.value:.4f}", stderr, str(mv.n)])
    cols = [Col("model", kind="path"), Col("task"), Col("metric"), Col("value", right=True),
            Col("± stderr", right=True), Col("n", right=True)]  # fmt: skip
    print_table(console, cols, cells, title=f"run {record.run_id}")
    computed = sum(int(s.get("requests_computed", 0)) for s in record.stats.values())
    cached = sum(int(s.get("requests_cached", 0)) for s in record.stats.values())
    console.print(f"requests: {computed} computed, {cached} from cache · {record.wall_seconds:.1f} s")
    board = record.config.get("leaderboard")
    rows = f" and leaderboard rows to {board}" if board else ""
    console.print(f"wrote {run_dir}/ (summary.json, metrics.json, samples/){rows}")
    if board:
        _note_repeat(record.run_id, Path(board))


def _note_repeat(run_id: str, board: Path) -> None:
    """Say so when this run's rows repeat an earlier run's exactly (the same command run again)."""
    from assay.leaderboard.store import read_rows
    from assay.leaderboard.views import drop_repeats

    if not board.is_file():
        return
    earlier = drop_repeats(read_rows(board)[0])[1].get(run_id)
    if earlier:
        console.print(
            f"note: these results repeat run {earlier}'s exactly (same model files, data and scores); "
            "`assay leaderboard show` lists them once (--repeats shows both)",
            soft_wrap=False,
        )


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run(
        model: list[str] = typer.Option(
            [], "--model", "-m", help="Backend (hf, openai-chat, ...) or alias (smollm2-135m). Repeatable."
        ),
        model_args: list[str] = typer.Option(
            [], "--model-args", "-a", help="key=value,... for the --model at the same position."
        ),
        models_file: Path | None = typer.Option(None, "--models", help="YAML list of {name, model, args}."),
        tasks: str = typer.Option(
            "", "--tasks", "-t", help="Comma-separated task names, groups (mmlu) or globs (mmlu_*)."
        ),
        include: list[str] = typer.Option(
            [], "--include", help="Extra task YAML file or folder. Repeatable."
        ),
        limit: int | None = typer.Option(
            None, "--limit", help="First N rows of each task in dataset order; for a group, of each subtask."
        ),
        num_fewshot: int | None = typer.Option(
            None, "--num-fewshot", help="Few-shot examples (default: each task's own)."
        ),
        batch_size: str = typer.Option(
            "8", "--batch-size", help="Rows per forward pass, or 'auto' (fastest on CPU)."
        ),
        seed: int = typer.Option(1234, "--seed", help="Seed for sampling."),
        fewshot_seed: int = typer.Option(1234, "--fewshot-seed", help="Seed for choosing few-shot examples."),
        fewshot_split: str | None = typer.Option(
            None,
            "--fewshot-split",
            help="Split the few-shot examples come from (e.g. dev, train, or the evaluated split itself, each "
            "row then left out of its own). Default: the task's, else train, else validation, else the evaluated.",
        ),
        data_dir: str | None = typer.Option(
            None, "--data-dir", help="Local data folder <id>/<config>/<split>.jsonl (or ASSAY_DATA_DIR)."
        ),
        apply_chat_template: bool = typer.Option(
            False, "--apply-chat-template", help="lm: tasks: render prompts with the model's chat template."
        ),
        fewshot_as_multiturn: bool = typer.Option(
            True, "--fewshot-as-multiturn/--fewshot-in-one-turn",
            help="lm: tasks with --apply-chat-template: each few-shot example a user/assistant turn (lm-eval's "
            "default), or all of them in the first user turn.",
        ),
        system_instruction: str | None = typer.Option(
            None, "--system-instruction", help="lm: tasks: a system message put before every prompt."
        ),
        metadata: str | None = typer.Option(
            None, "--metadata", help="lm: tasks: a JSON object or key=value,... merged into each task's metadata "
            "(lm-eval's --metadata, e.g. RULER's max_seq_lengths).",
        ),
        output: str = typer.Option("runs", "--output", "-o", help="Folder that receives runs/<run_id>/."),
        run_dir_opt: str | None = typer.Option(
            None, "--run-dir", help="Write the run folder exactly here (instead of OUTPUT/<run_id>)."
        ),
        leaderboard: str = typer.Option(
            "data/leaderboard.csv", "--leaderboard", help="Leaderboard CSV to append to."
        ),
        no_leaderboard: bool = typer.Option(False, "--no-leaderboard", help="Append no leaderboard rows."),
        no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the response cache."),
        resume: str | None = typer.Option(
            None, "--resume", help="Finish an interrupted run (run id or folder) with its saved config."
        ),
        device: str | None = typer.Option(None, "--device", help="cpu or cuda (hf backend)."),
        gen_kwargs: str | None = typer.Option(
            None, "--gen-kwargs", help="Override generation settings: temperature=0.8,max_tokens=128,..."
        ),
        n: int | None = typer.Option(
            None,
            "--n",
            help="Generations per prompt (for pass@k); with n > 1 a greedy task samples at temperature 0.8, "
            "top_p 0.95 unless --gen-kwargs sets a temperature.",
        ),
        lm_eval_output: str | None = typer.Option(
            None, "--lm-eval-output", help="Also write lm-eval's results_<date>.json and samples files (lm: tasks)."
        ),
        track: bool = typer.Option(False, "--track", help="Log the run to MLflow."),
        tracking_uri: str | None = typer.Option(
            None, "--tracking-uri", help="MLflow tracking URI (default: ./mlflow.db)."
        ),
        experiment: str | None = typer.Option(
            None, "--experiment", help="MLflow experiment name (default: {Task}-{ModelFamily})."
        ),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
        executor: str = typer.Option(
            "local", "--executor", help="local (this process) or ray (one model replica per Ray worker)."
        ),
        ray_address: str | None = typer.Option(
            None, "--ray-address", help="Ray cluster HOST:PORT or 'auto' (default: start a local one)."
        ),
        workers: int = typer.Option(1, "--workers", help="Ray workers (actors), one model replica each."),
        worker_resources: str | None = typer.Option(
            None, "--worker-resources", help="Per Ray worker, e.g. cpu=1,gpu=1 (default cpu=1)."
        ),
    ) -> None:
        """Evaluate one or more models on benchmarks; write runs/<run_id>/ and leaderboard rows."""
        from assay.runner import run_evaluation

        how = {"executor": executor, "ray_address": ray_address, "workers": workers,
               "worker_resources": worker_resources}  # fmt: skip
        if resume:  # a run may be resumed with another executor or worker count: results do not depend on them
            run_dir = _unfinished(resume, Path(output))
            config = build_config(**{**_saved_config(run_dir).model_dump(), **how})
        else:
            run_dir = None
            config = build_config(
                models=models_from_cli(model, model_args, models_file),
                tasks=tuple(t for t in tasks.split(",") if t.strip()),
                limit=limit,
                num_fewshot=num_fewshot,
                batch_size=batch_size,
                seed=seed,
                fewshot_seed=fewshot_seed,
                fewshot_split=fewshot_split,
                apply_chat_template=apply_chat_template,
                fewshot_as_multiturn=fewshot_as_multiturn,
                system_instruction=system_instruction,
                metadata=parse_metadata(metadata),
                data_dir=data_dir,
                output=output,
                run_dir=run_dir_opt,
                leaderboard=None if no_leaderboard else leaderboard,
                use_cache=not no_cache,
                device=device,
                gen_kwargs=parse_kv(gen_kwargs),
                n_samples=n,
                track=track,
                tracking_uri=tracking_uri,
                experiment=experiment,
                task_files=tuple(include),
                **how,
            )
        # validation before work, for a resumed run too (its tasks, data and models may have gone since): nothing
        # is loaded or written, and a resumed run's folder is left as it was, for a bad input
        checked = check_run(config, resume_dir=run_dir)
        if lm_eval_output:
            from assay.preflight import check_writable_folder

            check_writable_folder(Path(lm_eval_output), "--lm-eval-output")
        record, folder = run_evaluation(config, resume_dir=run_dir, show_progress=not quiet, checked=checked)
        print_results(record, folder)
        if lm_eval_output:
            _write_lmeval(folder, Path(lm_eval_output))


def _write_lmeval(folder: Path, output: Path) -> None:
    """lm-eval's own output files (results and samples) for the run's lm: tasks."""
    from assay.lmeval.output import write_lmeval_output
    from assay.runs.folder import open_run

    written = write_lmeval_output(open_run(folder), output, log_samples=True)
    for path in written:
        console.print(f"wrote {path}")
    if not written:
        console.print("note: --lm-eval-output: the run has no lm: tasks, so no lm-eval files were written")


def _unfinished(run: str, output: Path) -> Path:
    """The `.partial` folder of the run to resume (a finished or unknown run is a one-line error)."""
    from assay.session import unfinished_run

    return unfinished_run(run, output)


def _saved_config(run_dir: Path) -> RunConfig:
    return read_config_as(run_dir, RunConfig, "assay run", hint="the file is damaged; start a new run")


def summary_json(record: RunRecord) -> str:
    return json.dumps(record.metric_map(), indent=2)
