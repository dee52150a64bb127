"""`assay run --executor ray` end to end on a real local Ray cluster (head + worker node, separate processes).

The fake backend stands in for a model (with a little latency, so that kills land mid-run); the data is real.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import assay_cmd

pytestmark = pytest.mark.integration

TOTAL = 40 * 4  # the first 40 ARC-Easy rows have four choices each


def _args(tmp: Path, out: str, *extra: str) -> list[str]:
    data = os.environ.get("ASSAY_TEST_DATA_DIR", str(Path(__file__).resolve().parents[3] / "shared" / "data"))
    return ["run", "--model", "fake", "--model-args", "seed=7,latency_request_ms=15", "--tasks", "arc_easy",
            "--limit", "40", "--data-dir", data, "--quiet", "--no-leaderboard", "--output", str(tmp / out),
            *extra]  # fmt: skip


def _env(tmp: Path, cache: str) -> dict[str, str]:
    return {**os.environ, "ASSAY_CACHE": str(tmp / cache), "ASSAY_CHUNK_SIZE": "16"}


def _run(tmp: Path, args: list[str], cache: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(assay_cmd(*args), env=_env(tmp, cache), cwd=tmp, capture_output=True, text=True,
                          timeout=300)  # fmt: skip


def _folder(tmp: Path, out: str) -> Path:
    return next(p for p in (tmp / out).iterdir() if not p.name.endswith(".partial"))


def _samples(run: Path) -> str:
    return (run / "samples" / "fake_arc_easy.jsonl").read_text()


def _summary(run: Path) -> dict:
    return json.loads((run / "summary.json").read_text())


def _journal_rows(tmp: Path, out: str) -> int:
    for partial in (tmp / out).glob("*.partial"):
        try:
            with sqlite3.connect(partial / "responses.sqlite", timeout=1) as con:
                return int(con.execute("SELECT COUNT(*) FROM responses").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
    return 0


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("local")
    done = _run(tmp, _args(tmp, "runs"), "cache")
    assert done.returncode == 0, done.stderr
    return _folder(tmp, "runs")


def test_two_workers_write_the_local_samples_and_metrics(ray_cluster: str, local_run: Path, tmp_path: Path) -> None:
    done = _run(tmp_path, _args(tmp_path, "runs", "--executor", "ray", "--ray-address", ray_cluster,
                                "--workers", "2"), "cache")  # fmt: skip
    assert done.returncode == 0, done.stderr
    run = _folder(tmp_path, "runs")
    assert _samples(run) == _samples(local_run)
    assert (run / "metrics.json").read_text() == (local_run / "metrics.json").read_text()
    stats = _summary(run)["stats"]["fake"]
    assert stats["executor"] == "ray" and stats["requeued_units"] == []
    assert [w["units"] for w in stats["workers"]] != [0, 0] and sum(w["requests"] for w in stats["workers"]) == TOTAL
    assert all(w["busy_seconds"] > 0 for w in stats["workers"])


def _watch(proc: subprocess.Popen[str], lines: list[str]) -> threading.Thread:
    def read() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread


def _wait_for(check: object, what: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.time() + 120
    while not check():  # type: ignore[operator]
        assert proc.poll() is None, f"the run ended before {what}"
        assert time.time() < deadline, f"no {what} within 120 s"
        time.sleep(0.05)


def test_a_killed_worker_has_its_units_requeued_and_the_run_completes_identical(
    ray_cluster: str, local_run: Path, tmp_path: Path
) -> None:
    args = _args(tmp_path, "runs", "--executor", "ray", "--ray-address", ray_cluster, "--workers", "2")
    proc = subprocess.Popen(assay_cmd(*args), env=_env(tmp_path, "cache"), cwd=tmp_path, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    lines: list[str] = []
    reader = _watch(proc, lines)
    _wait_for(lambda: any("worker(s) loaded" in line for line in lines), "workers", proc)
    pids = [int(p) for p in re.findall(r"pid (\d+)", next(x for x in lines if "worker(s) loaded" in x))]
    _wait_for(lambda: _journal_rows(tmp_path, "runs") >= 32, "progress", proc)
    os.kill(pids[0], signal.SIGKILL)
    assert proc.wait(timeout=300) == 0, "".join(lines)
    reader.join(5)
    run = _folder(tmp_path, "runs")
    requeued = _summary(run)["stats"]["fake"]["requeued_units"]
    assert requeued and all(u.startswith("arc_easy#") for u in requeued)
    assert any(f"re-queued unit {requeued[0]}" in line for line in lines)
    assert _samples(run) == _samples(local_run)


def test_a_killed_driver_resumes_on_one_worker_recomputing_only_what_was_lost(
    ray_cluster: str, local_run: Path, tmp_path: Path
) -> None:
    args = _args(tmp_path, "runs", "--executor", "ray", "--ray-address", ray_cluster, "--workers", "2")
    proc = subprocess.Popen(assay_cmd(*args), env=_env(tmp_path, "cache-a"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _wait_for(lambda: _journal_rows(tmp_path, "runs") >= 48, "progress", proc)  # type: ignore[arg-type]
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    journaled = _journal_rows(tmp_path, "runs")
    assert 48 <= journaled < TOTAL and journaled % 16 == 0  # whole units only
    partial = next((tmp_path / "runs").glob("*.partial"))
    resumed = _run(tmp_path, ["run", "--resume", str(partial), "--quiet", "--executor", "ray", "--ray-address",
                              ray_cluster, "--workers", "1"], "cache-b")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    run = _folder(tmp_path, "runs")
    stats = _summary(run)["stats"]["fake"]
    assert stats["requests_computed"] == TOTAL - journaled and len(stats["workers"]) == 1
    assert _samples(run) == _samples(local_run)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--executor", "rayy"], "unknown executor 'rayy'"),
        (["--workers", "4"], r"cannot hold 4 worker\(s\) with cpu=1 each \(room for 3"),
        (["--worker-resources", "cpu=1,gpu=1"], r"gpu=1.*room for 0"),
    ],
)
def test_what_the_cluster_lacks_is_one_line_and_nothing_is_written(
    ray_cluster: str, tmp_path: Path, extra: list[str], message: str
) -> None:
    done = _run(tmp_path, _args(tmp_path, "runs", "--executor", "ray", "--ray-address", ray_cluster, *extra), "c")
    assert done.returncode == 2
    assert re.search(message, done.stderr), done.stderr
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_an_unreachable_cluster_is_one_line_within_ten_seconds(tmp_path: Path) -> None:
    started = time.monotonic()
    done = _run(tmp_path, _args(tmp_path, "runs", "--executor", "ray", "--ray-address", "127.0.0.1:9"), "c")
    assert time.monotonic() - started < 10
    assert done.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:9" in done.stderr, done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_real_smollm2_on_two_workers_writes_the_local_loglikelihoods(
    ray_cluster: str, tmp_path: Path, data_dir: Path
) -> None:
    """Byte-identical samples need the same units and the same CPU thread count as a local run (Ray would
    otherwise give each worker one thread, and the sums come out ~2e-5 nats apart)."""
    common = ["run", "--model", "smollm2-135m", "--tasks", "arc_easy", "--limit", "8",
              "--data-dir", str(data_dir), "--quiet", "--no-leaderboard"]  # fmt: skip
    local = _run(tmp_path, [*common, "--output", str(tmp_path / "local")], "cache-a")
    assert local.returncode == 0, local.stderr
    ray = _run(tmp_path, [*common, "--output", str(tmp_path / "ray"), "--executor", "ray", "--ray-address",
                          ray_cluster, "--workers", "2"], "cache-b")  # fmt: skip
    assert ray.returncode == 0, ray.stderr
    a, b = _folder(tmp_path, "local"), _folder(tmp_path, "ray")
    name = "smollm2-135m_arc_easy.jsonl"  # 32 requests: two units of 16, one on each worker
    assert (a / "samples" / name).read_text() == (b / "samples" / name).read_text()
    assert sum(w["units"] > 0 for w in _summary(b)["stats"]["smollm2-135m"]["workers"]) == 2


def test_check_code_on_the_cluster_gives_the_local_verdicts(ray_cluster: str, tmp_path: Path) -> None:
    from assay.code.score import load_problems

    problems = load_problems("example")
    rows = [{"task_id": t, "completion": p.reference or ""} for t, p in problems.items()]
    rows += [{"task_id": t, "completion": "    return None\n"} for t in problems]
    verdicts = []
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--ray-address", ray_cluster])):
        samples = tmp_path / f"{name}.jsonl"
        samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
        done = _run(tmp_path, ["check-code", str(samples), "--problems", "example", "--k", "1", *extra], "c")
        assert done.returncode == 0, done.stderr
        results = tmp_path / f"{name}.jsonl_results.jsonl"
        verdicts.append([json.loads(x)["result"] for x in results.read_text().splitlines()])
    assert verdicts[0] == verdicts[1] and verdicts[0].count("passed") == len(problems)


def test_a_code_task_on_the_cluster_runs_its_programs_on_the_nodes(ray_cluster: str, tmp_path: Path) -> None:
    common = ["run", "--model", "fake", "--tasks", "assay_example", "--quiet", "--no-leaderboard"]
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--ray-address", ray_cluster])):
        done = _run(tmp_path, [*common, "--output", str(tmp_path / name), *extra], "c")
        assert done.returncode == 0, done.stderr
    a, b = _folder(tmp_path, "local"), _folder(tmp_path, "ray")
    rows = (b / "samples" / "fake_assay_example.jsonl").read_text()
    assert rows == (a / "samples" / "fake_assay_example.jsonl").read_text() and len(rows.splitlines()) == 12
    assert all("passed_first" in json.loads(row)["scores"] for row in rows.splitlines())


def test_an_lm_eval_task_on_two_workers_writes_the_local_samples(ray_cluster: str, tmp_path: Path) -> None:
    """lm-eval's own tasks (lm:) go through the same units on a cluster: samples byte-identical to local."""
    pytest.importorskip("lm_eval", reason="lm-eval is a dev dependency")
    folders = {}
    for name, extra in (("local", []), ("ray", ["--executor", "ray", "--ray-address", ray_cluster, "--workers", "2"])):
        args = _args(tmp_path, name, *extra)
        args[args.index("arc_easy")] = "lm:arc_easy,lm:gsm8k"
        args[args.index("40")] = "12"
        done = _run(tmp_path, args, f"cache-{name}")
        assert done.returncode == 0, done.stderr[-2000:]
        folders[name] = _folder(tmp_path, name)
    for task in ("lm_arc_easy", "lm_gsm8k"):
        local = (folders["local"] / "samples" / f"fake_{task}.jsonl").read_text()
        assert local.count("\n") == 12
        assert (folders["ray"] / "samples" / f"fake_{task}.jsonl").read_text() == local
    assert (folders["ray"] / "metrics.json").read_text() == (folders["local"] / "metrics.json").read_text()


def test_check_code_with_a_node_killed_mid_batch_gives_every_verdict_of_a_local_run(
    ray_cluster: str, tmp_path: Path
) -> None:
    """Sandbox runs go through the one Ray work queue: a node's actor SIGKILLed while its programs run has its
    run re-queued (Ray restarts it), and the results file is byte-identical to a local check-code run."""
    from assay.code.score import load_problems

    slow = "import time\ntime.sleep(0.2)\n"  # every program sleeps, so the kill lands while runs are in flight
    rows = []
    for t, p in load_problems("example").items():
        rows += [{"task_id": t, "solution": slow + p.program(p.reference or "")}] * 2
        rows += [{"task_id": t, "solution": slow + p.program("    return None\n")}] * 2
    text = "".join(json.dumps(r) + "\n" for r in rows)
    common = ["--problems", "example", "--k", "1", "--timeout", "5"]  # fixed limits: the first batch is the samples
    (tmp_path / "local.jsonl").write_text(text)
    (tmp_path / "ray.jsonl").write_text(text)
    local = _run(tmp_path, ["check-code", str(tmp_path / "local.jsonl"), *common], "c")
    assert local.returncode == 0, local.stderr
    args = ["check-code", str(tmp_path / "ray.jsonl"), *common, "--executor", "ray", "--ray-address", ray_cluster]
    proc = subprocess.Popen(assay_cmd(*args), env=_env(tmp_path, "c"), cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    lines: list[str] = []
    reader = _watch(proc, lines)
    journal = tmp_path / "ray.jsonl_results.jsonl.partial"
    # the first run's verdicts are in: the other node is mid-run, and this one has just been handed the next
    _wait_for(lambda: journal.exists() and journal.read_text().count("\n") >= 2, "a verdict", proc)
    pids = _actor_pids("NodeSandbox")
    assert len(pids) == 2  # one per node
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    assert proc.wait(timeout=300) == 0, "".join(lines)
    reader.join(5)
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert any(f"pid {pids[0]} on " in line and "a sandbox on each of 2 node(s)" in line for line in lines), lines
    assert any(re.search(r"\(pid \d+\) died; re-queued unit ", line) for line in lines), lines
    want = (tmp_path / "local.jsonl_results.jsonl").read_bytes()
    assert (tmp_path / "ray.jsonl_results.jsonl").read_bytes() == want and want.count(b"\n") == len(rows)
    assert len(out.strip().splitlines()) == 1, out  # stdout is the report alone, kills or not
    assert json.loads(out) == json.loads(local.stdout), out
    assert not (tmp_path / "ray.jsonl_results.jsonl.partial").exists()


def _actor_pids(name: str) -> list[int]:
    """The processes of the live Ray actors of class `name` (Ray titles them ray::<class>)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, ValueError):
            continue
        if title.startswith(f"ray::{name}"):
            pids.append(int(entry.name))
    return sorted(pids)
