"""lm-eval's requests as assay sends them, for every lm-eval task whose rows are in the data folder, and the
share of lm-eval's whole zoo that assay loads.

    python bench/bench_lmeval_requests.py [--data-dir ../shared/data] [--limit 2] [--tasks a,b,...] [--quiet]

Requests: each lm-eval 0.4.13 task whose resolved config's dataset_path/dataset_name is a folder
<data-dir>/<path>/<name or default>/ is built by lm-eval's TaskManager under assay's `local_rows`,
`build_all_requests(limit, rank=0, world_size=1)`; its Instances go through assay's own AssayLM (the code
`assay run` uses, with the model call replaced by a recorder) and every assay request must carry exactly
lm-eval's context and continuation (loglikelihood), text (loglikelihood_rolling), or context, `until`,
`max_gen_toks`, greedy/sampling (and temperature) and repeats as `n` (generate_until). One line per task, then
a total. Tasks assay refuses on purpose (images, and unsafe_code tasks that execute code without evaluate's
code_eval) are counted apart; unsafe_code tasks scored through code_eval (humaneval*, mbpp*) are checked like
any other (their programs would run in assay's sandbox) and counted as such too.

Loading: every task of TaskManager().all_subtasks has its full config read by lm-eval's YAML loader
(include chains, !function imported) and checked by assay.lmeval.features (the check `assay run` makes before
a model loads); no data is read. Prints the share that loads, and each one that does not, grouped by reason.
Exit 1 if any local-data task's requests differ or fewer than 99% of the zoo loads.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

SEED = 1234
IMPORTS = "!function import fails"


class Recorder:
    """assay's AssayLM with the model call replaced: the requests it would send are kept, answers are dummies."""

    def __init__(self) -> None:
        from assay.lmeval.adapter import AssayLM

        class Recording(AssayLM):  # type: ignore[misc]
            def _answer(self, kind: Any, instances: Any, requests: Any) -> list[Any]:
                from assay.records import GenerationResponse, LoglikelihoodResponse

                self.sent.extend(requests)
                if kind == "generate":
                    return [GenerationResponse(texts=("",) * r.n) for r in requests]
                return [LoglikelihoodResponse(logprob=0.0, is_greedy=False, n_tokens=0) for _ in requests]

        self.lm = Recording(model=None, progress=None, label="bench", seed=SEED)  # type: ignore[arg-type]

    def send(self, kind: str, instances: list[Any]) -> list[Any]:
        self.lm.sent = []
        if kind == "generate_until":  # lm-eval clones each request `repeats` times in a row (evaluator.py)
            self.lm.generate_until([inst for inst in instances for _ in range(inst.repeats)])
        elif kind == "loglikelihood_rolling":
            self.lm.loglikelihood_rolling(instances)
        else:
            self.lm.loglikelihood(instances)
        return list(self.lm.sent)


def differences(instances: list[Any], sent: list[Any]) -> list[str]:
    """What differs between lm-eval's Instances and assay's requests (empty when they carry the same)."""
    if len(instances) != len(sent):
        return [f"{len(instances)} lm-eval requests, {len(sent)} assay requests"]
    out: list[str] = []
    for i, (inst, req) in enumerate(zip(instances, sent, strict=True)):
        kind = inst.request_type
        got: tuple[Any, ...]
        want: tuple[Any, ...]
        if kind in ("loglikelihood", "multiple_choice"):
            got, want = (req.context, req.continuation), tuple(inst.args[:2])
        elif kind == "loglikelihood_rolling":
            got, want = (req.text,), (inst.args[0],)
        else:
            kwargs = dict(inst.args[1] or {})
            until = kwargs.get("until") or []
            sample = bool(kwargs.get("do_sample", False))
            want = (inst.args[0], tuple([until] if isinstance(until, str) else until),
                    int(kwargs.get("max_gen_toks", 256)), sample,
                    float(kwargs.get("temperature", 1.0)) if sample else 0.0, inst.repeats)  # fmt: skip
            got = (req.prompt, req.stop, req.max_tokens, req.temperature > 0, req.temperature, req.n)
        if got != want:
            names = ("context", "continuation") if kind != "generate_until" else \
                ("context", "until", "max_gen_toks", "do_sample", "temperature", "repeats")  # fmt: skip
            which = [n for n, a, b in zip(names, got, want, strict=False) if a != b]
            out.append(f"request {i} ({inst.doc_id}): {', '.join(which)} differ")
    return out


def zoo_configs(manager: Any) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """(resolved config of every task that loads and is supported, unsupported-feature line of every other)."""
    from assay.lmeval.features import YamlProblem, config_problem, load_task_config

    configs: dict[str, dict[str, Any]] = {}
    problems: dict[str, str] = {}
    for name in manager.all_subtasks:
        entry = manager.task_index[name]
        began = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                cfg = load_task_config(entry.yaml_path) if entry.yaml_path else dict(entry.cfg or {})
        except YamlProblem as exc:
            problems[name] = str(exc)
            continue
        finally:
            if time.perf_counter() - began > 2:
                print(f"(reading {name} took {time.perf_counter() - began:.0f} s)", file=sys.stderr)
        problem = config_problem(cfg)
        if problem:
            problems[name] = f"{entry.yaml_path}: {problem}"
        configs[name] = cfg
    return configs, problems


def local_tasks(manager: Any, data_dir: Path) -> list[str]:
    """Tasks whose dataset (as lm-eval's index reads the YAML: includes merged) has a folder in the data folder."""
    out = []
    for name in manager.all_subtasks:
        cfg = manager.task_index[name].cfg or {}
        path, sub = cfg.get("dataset_path"), cfg.get("dataset_name")
        if not isinstance(path, str) or not (data_dir / path).is_dir():
            continue
        configs = [f for f in (data_dir / path).iterdir() if f.is_dir()]
        if (data_dir / path / (sub or "default")).is_dir() or (not sub and len(configs) == 1):
            out.append(name)  # (a dataset's only config is the hub's default: openai/openai_humaneval)
    return sorted(out)


def check_task(manager: Any, name: str, data_dir: Path, limit: int) -> tuple[str, int, list[str]]:
    """(output type, requests compared, differences) of one task."""
    from assay.lmeval.rows import local_rows

    with local_rows(data_dir, "test"):
        task = manager.load([name])["tasks"][name]
    task.set_fewshot_seed(seed=SEED)
    task.build_all_requests(limit=limit, rank=0, world_size=1)
    kind = task.OUTPUT_TYPE
    instances = list(task.instances)
    return kind, len(instances), differences(instances, Recorder().send(kind, instances))


def reason_of(problem: str) -> str:
    """A problem line's reason: the key it names (`unsafe_code`, `doc_to_image`, `metric_list`, `!function`)."""
    tail = problem.split(": ", 1)[1] if ": " in problem else problem
    return IMPORTS if "!function" in tail else tail.split(":")[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--limit", type=int, default=2)
    parser.add_argument("--tasks", default="", help="comma-separated lm-eval task names (default: all local)")
    parser.add_argument("--quiet", action="store_true", help="print only tasks that differ, and the totals")
    args = parser.parse_args()
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from assay.errors import DataError
    from assay.lmeval.catalog import quiet_lmeval, task_manager
    from assay.lmeval.features import IMAGES, UNSAFE

    quiet_lmeval()
    logging.disable(logging.WARNING)
    start = time.perf_counter()
    manager = task_manager(())
    configs, problems = zoo_configs(manager)
    loaded = time.perf_counter() - start
    names = args.tasks.split(",") if args.tasks else local_tasks(manager, args.data_dir)
    refused = {n: k for n in names for k in IMAGES if (manager.task_index[n].cfg or {}).get(k)}
    refused |= {n: UNSAFE for n in names if n in problems and reason_of(problems[n]) == UNSAFE}
    sandboxed = [n for n in names if (manager.task_index[n].cfg or {}).get(UNSAFE) and n not in refused]
    same = differ = failed = no_rows = 0
    kinds: Counter[str] = Counter()
    n_requests = 0
    for name in names:
        if name in refused:
            print(f"{name:48} refused on purpose: {refused[name]}")
            continue
        try:
            kind, n, diffs = check_task(manager, name, args.data_dir, args.limit)
        except DataError as exc:  # the split it scores is not in the data folder
            no_rows += 1
            print(f"{name:48} no rows here: {exc.message}")
            continue
        except Exception as exc:  # a task that does not build is reported, not fatal
            failed += 1
            print(f"{name:48} BUILD FAILED: {type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}")
            continue
        kinds[kind] += 1
        n_requests += n
        same, differ = same + (not diffs), differ + bool(diffs)
        if diffs or not args.quiet:
            print(f"{name:48} {kind:22} {n:4} requests  {'OK' if not diffs else '; '.join(diffs[:3])}")
    took = time.perf_counter() - start - loaded
    print(f"\nrequests: {len(names)} local-data tasks, {same} identical, {differ} differ, {failed} failed to build, "
          f"{no_rows} without their split in the data folder, {len(refused)} refused on purpose "
          f"(images, unsafe_code without code_eval); {len(sandboxed)} unsafe_code tasks among them checked, their "
          f"programs for assay's sandbox; {n_requests} requests compared "
          f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}) in {took:.0f} s")  # fmt: skip
    total = len(manager.all_subtasks)
    share = 100.0 * (total - len(problems)) / total
    imports = sum(reason_of(p) == IMPORTS for p in problems.values())
    print(f"loading: {total - len(problems)} of {total} lm-eval tasks load ({share:.2f}%), {len(problems)} do not "
          f"({loaded:.0f} s, no data read)")  # fmt: skip
    print(f"  of those, {imports} fail only because a `!function` module of lm-eval's own task folder does not import "
          f"here (lm-eval itself cannot load them either); setting them aside, {total - len(problems) + imports} "
          f"of {total} use only features assay supports ({100.0 * (total - len(problems) + imports) / total:.2f}%), "
          f"{len(problems) - imports} use a feature it does not")  # fmt: skip
    groups: dict[str, list[str]] = defaultdict(list)
    for name, problem in sorted(problems.items()):
        groups[reason_of(problem)].append(f"  {name}: {problem}")
    for reason, lines in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"\n{reason}: {len(lines)} tasks")
        print("\n".join(lines))
    return 0 if not differ and not failed and share >= 99.0 else 1


if __name__ == "__main__":
    sys.exit(main())
