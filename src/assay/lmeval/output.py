"""lm-eval's own output files, written from an assay run folder.

lm-eval's CLI writes `<output_path>/<model_name_sanitized>/results_<date>.json` (its result dict without samples,
plus `task_hashes` and its GeneralConfigTracker's fields) and, with `--log_samples`,
`samples_<task>_<date>.jsonl` next to it (one line per logged sample and filter, arguments as `gen_args_i/arg_j`,
responses as strings). The same files are written here from what a run folder keeps of an `lm:` evaluation:
lm-eval's result dict (`lm_eval/<model>.json`) and its sample log (each sample's `extras["lm_eval"]`), with
lm-eval's own helpers doing the naming, hashing and sanitizing, so that scripts reading lm-eval's files read
these unchanged. An output path ending in `.json` is a file name stem, as lm-eval treats it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from assay.lmeval.catalog import PREFIX
from assay.lmeval.evaluate import results_path
from assay.records import JSON, ModelInfo
from assay.runs.folder import RunFolder, read_json_file


@dataclass(frozen=True)
class LmevalRun:
    """How lm-eval itself would describe the evaluation: its --model name, model args and CLI settings (the
    result dict's `config` block and the tracker fields). Defaults describe an `assay run` as it was given."""

    model_source: str | None = None  # lm-eval's --model (hf, local-completions, ...); None: assay's backend
    model_args: dict[str, Any] | None = None  # None: assay's model args
    config: dict[str, Any] = field(default_factory=dict)  # batch_size, device, limit, ... as lm-eval records them
    system_instruction: str | None = None
    fewshot_as_multiturn: bool | None = None
    seconds: float | None = None  # total_evaluation_time_seconds; None: the run's wall time


def write_lmeval_output(folder: RunFolder, output_path: Path, log_samples: bool,
                        how: LmevalRun | None = None) -> list[Path]:  # fmt: skip
    """Write lm-eval's results file (and samples files) for each model of the run; returns the paths written."""
    how = how or LmevalRun()
    written: list[Path] = []
    for info in folder.record.models:
        raw = results_path(folder.path / "lm_eval", info.name)
        if not raw.is_file():
            continue  # this model ran no lm: task
        written.extend(_write_model(folder, info, read_json_file(raw), output_path, log_samples, how))
    return written


def lmeval_samples(folder: RunFolder, model: str, task: str) -> list[JSON]:
    """lm-eval's logged samples of one task, in lm-eval's order: every document under one filter, then the next."""
    entries = [e for s in folder.samples(model, PREFIX + task) for e in s.extras.get("lm_eval", [])]
    filters = list(dict.fromkeys(str(e["filter"]) for e in entries))
    return [e for f in filters for e in entries if e["filter"] == f]


def _write_model(folder: RunFolder, info: ModelInfo, raw: JSON, output_path: Path, log_samples: bool,
                 how: LmevalRun) -> list[Path]:  # fmt: skip
    from lm_eval.loggers.evaluation_tracker import GeneralConfigTracker
    from lm_eval.utils import handle_non_serializable, hash_string, sanitize_model_name

    source = how.model_source or info.backend
    args = dict(info.args) if how.model_args is None else dict(how.model_args)
    name = GeneralConfigTracker._get_model_name(args) or info.name
    tasks = list(raw.get("configs", {}))
    samples = {t: lmeval_samples(folder, info.name, t) for t in tasks} if log_samples else {}
    results = dict(raw)
    given = folder.record.config.get("metadata") or {}  # --metadata
    results["configs"] = {t: _with_model_args(cfg, args, given) for t, cfg in raw.get("configs", {}).items()}
    # lm-eval's order: model, model_args, the hf model's own info, then the run's settings
    hf_info = _model_info(info) if info.backend == "hf" else {}
    config: dict[str, Any] = {"model": source, "model_args": args, **hf_info}
    config.update({k: v for k, v in raw.get("config", {}).items() if k not in ("model", "model_args")})
    results["config"] = {**config, **how.config}
    if "pretty_env_info" in results and results["pretty_env_info"] is None:  # deferred by evaluate.env_info_later
        results["pretty_env_info"] = pretty_env_info()
    if info.backend == "hf":
        results.update(_tokenizer_info(info.args))
    results["task_hashes"] = {
        t: hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in rows))
        for t, rows in samples.items()
    }
    seconds = how.seconds if how.seconds is not None else folder.record.wall_seconds
    results.update({
        "model_source": source, "model_name": name, "model_name_sanitized": sanitize_model_name(name),
        "system_instruction": how.system_instruction,
        "system_instruction_sha": hash_string(how.system_instruction) if how.system_instruction else None,
        "fewshot_as_multiturn": how.fewshot_as_multiturn, "chat_template": None, "chat_template_sha": None,
        "total_evaluation_time_seconds": str(seconds),
    })  # fmt: skip
    date_id = datetime.now().isoformat().replace(":", "-")
    if output_path.suffix == ".json":
        where, results_file = output_path.parent, output_path.with_name(f"{output_path.stem}_{date_id}.json")
    else:
        where = output_path / sanitize_model_name(name)
        results_file = where / f"results_{date_id}.json"
    where.mkdir(parents=True, exist_ok=True)
    dumped = json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False)
    results_file.write_text(dumped, encoding="utf-8")
    written = [results_file]
    for task, rows in samples.items():
        path = where / f"samples_{task}_{date_id}.jsonl"
        with open(path, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(_sanitized(row), default=handle_non_serializable, ensure_ascii=False) + "\n")
        written.append(path)
    return written


@lru_cache(maxsize=1)
def pretty_env_info() -> str:
    """torch's collect_env report, as lm-eval's add_env_info records it (an error's text if it fails); once per
    process (~1.4 s of subprocesses), however many models' files are written."""
    try:
        from torch.utils.collect_env import get_pretty_env_info

        return str(get_pretty_env_info())
    except Exception as err:  # noqa: BLE001 - lm-eval records the error's text the same way
        return str(err)


def _sanitized(sample: JSON) -> JSON:
    """A logged sample as lm-eval's EvaluationTracker.save_results_samples writes it."""
    from lm_eval.utils import sanitize_list

    out = dict(sample)
    out["arguments"] = {
        f"gen_args_{i}": {f"arg_{j}": value for j, value in enumerate(arg)} for i, arg in enumerate(sample["arguments"])
    }
    # the run folder keeps lm-eval's (logprob, is_greedy) tuples as lists: json.dumps writes both alike
    out["resps"] = sanitize_list(sample["resps"])
    out["filtered_resps"] = sanitize_list(sample["filtered_resps"])
    out["target"] = str(sample["target"])
    return out


def _with_model_args(task_config: JSON, model_args: dict[str, Any], given: dict[str, Any]) -> JSON:
    """A task's config as lm-eval's CLI records it: its TaskManager gets `model_args | --metadata` as metadata,
    merged into each task's `metadata` before `config_source` (assay's TaskManager got --metadata alone)."""
    metadata = task_config.get("metadata")
    if not isinstance(metadata, dict):
        return task_config
    source = {k: metadata[k] for k in ("config_source",) if k in metadata}
    rest = {k: v for k, v in metadata.items() if k != "config_source"}
    return {**task_config, "metadata": {**rest, **model_args, **given, **source}}


def _model_info(info: ModelInfo) -> JSON:
    """lm-eval's HFLM.get_model_info for the model assay loaded: parameters (counted on the meta device: no
    weights are read), dtype, revision and the hub commit (lm-eval asks the hub; here: the one assay recorded)."""
    args = info.args
    dtype = str(args.get("dtype", "float32"))  # assay's hf default
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM

        remote = bool(args.get("trust_remote_code", False))
        cfg = AutoConfig.from_pretrained(str(args["pretrained"]), revision=args.get("revision"),
                                         trust_remote_code=remote)  # fmt: skip
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(cfg, trust_remote_code=remote)
        params: int = model.num_parameters()
        if dtype == "auto":
            dtype = str(getattr(cfg, "dtype", None) or getattr(cfg, "torch_dtype", None) or "float32")
    except Exception:  # noqa: BLE001 - these fields describe the model; the results stand without them
        return {}
    sha = info.version if not info.files_digest and len(info.version) == 40 else ""
    return {"model_num_parameters": params, "model_dtype": f"torch.{dtype.removeprefix('torch.')}",
            "model_revision": args.get("revision") or "main", "model_sha": sha}  # fmt: skip


def _tokenizer_info(args: dict[str, Any]) -> JSON:
    """lm-eval's add_tokenizer_info for an hf model: its tokenizer's special tokens and the model's max length."""
    pretrained = args.get("pretrained")
    if not pretrained:
        return {}
    try:
        from lm_eval.models.utils import configure_pad_token
        from transformers import AutoConfig, AutoTokenizer

        remote = bool(args.get("trust_remote_code", False))
        tok = AutoTokenizer.from_pretrained(str(pretrained), revision=args.get("revision"), trust_remote_code=remote)
        cfg = AutoConfig.from_pretrained(str(pretrained), revision=args.get("revision"), trust_remote_code=remote)
        tok = configure_pad_token(tok, model_config=cfg)
    except Exception:  # noqa: BLE001 - these fields describe the model; the results stand without them
        return {}
    max_length = args.get("max_length") or next(
        (getattr(cfg, a) for a in ("n_positions", "max_position_embeddings", "n_ctx") if getattr(cfg, a, None)),
        None,
    )
    if max_length is None:
        big = 1000000000000000019884624838656
        max_length = tok.model_max_length if tok.model_max_length != big else 2048
    return {
        "tokenizer_pad_token": [tok.pad_token, str(tok.pad_token_id)],
        "tokenizer_eos_token": [tok.eos_token, str(tok.eos_token_id)],
        "tokenizer_bos_token": [tok.bos_token, str(tok.bos_token_id)],
        "eot_token_id": tok.eos_token_id,
        "max_length": max_length,
    }
