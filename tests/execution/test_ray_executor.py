"""RayExecutor on a real local Ray cluster (head + worker node, separate processes) with the fake backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.errors import ModelError, UsageError
from assay.execution.ray_pool import RayExecutor, check_resources, parse_resources
from assay.models.cache import CachedModel, ResponseStore
from assay.records import LoglikelihoodRequest
from assay.testing.fake import FakeModel

pytestmark = pytest.mark.integration


def _requests(questions: int) -> list[LoglikelihoodRequest]:
    return [LoglikelihoodRequest(context=f"Q{q}?" * (q % 7 + 1), continuation=f" {c}")
            for q in range(questions) for c in "ABCD"]  # fmt: skip


def _fake(**args: object) -> ModelSpec:
    return ModelSpec(name="fake", model="fake", args={"seed": 5, **args})


def test_two_workers_give_the_local_answers_and_report_per_worker_stats(ray_cluster: str, tmp_path: Path) -> None:
    reqs = _requests(50)
    journal = ResponseStore(tmp_path / "journal.sqlite")
    lines: list[str] = []
    ex = RayExecutor(_fake(latency_request_ms=2), 2, parse_resources("cpu=1"), lines.append)
    model = CachedModel(ex, [journal], [journal], chunk_size=16)
    try:
        assert model.loglikelihood(reqs) == FakeModel(seed=5).loglikelihood(reqs)
    finally:
        model.close()
    stats = ex.stats
    assert [w["units"] > 0 for w in stats["workers"]] == [True, True]  # both took work
    assert sum(w["requests"] for w in stats["workers"]) == len(reqs) == journal_count(tmp_path)
    assert stats["fake_requests"] == len(reqs) and stats["requeued_units"] == []
    assert "2 worker(s) loaded fake" in lines[0]


def journal_count(tmp: Path) -> int:
    return ResponseStore(tmp / "journal.sqlite").count()


def test_a_dead_worker_has_its_unit_requeued_and_results_stay_identical(ray_cluster: str) -> None:
    reqs = _requests(40)  # 160 requests in units of 16; every worker process dies after 40 requests
    lines: list[str] = []
    ex = RayExecutor(_fake(crash_after=40), 2, parse_resources("cpu=1"), lines.append)
    try:
        got = CachedModel(ex, [], [], chunk_size=16).loglikelihood(reqs)
    finally:
        ex.close()
    assert got == FakeModel(seed=5).loglikelihood(reqs)
    assert ex.stats["requeued_units"] and all(u.startswith("loglikelihood#") for u in ex.stats["requeued_units"])
    assert any("died; re-queued unit" in line for line in lines)
    assert sum(w["deaths"] for w in ex.stats["workers"]) == len(ex.stats["requeued_units"])


def test_a_unit_that_kills_every_worker_stops_the_run_naming_it(ray_cluster: str) -> None:
    ex = RayExecutor(_fake(crash_after=3), 1, parse_resources("cpu=1"))
    try:
        with pytest.raises(ModelError, match=r"unit loglikelihood#0 was lost with 3 workers"):
            CachedModel(ex, [], [], chunk_size=16).loglikelihood(_requests(4))
    finally:
        ex.close()


def test_resources_the_cluster_lacks_are_refused_at_once(ray_cluster: str) -> None:
    check_resources(3, parse_resources("cpu=1"))  # 1 + 2 CPUs
    check_resources(12, parse_resources("cpu=0.25"))
    with pytest.raises(UsageError, match=r"cannot hold 4 worker\(s\).*room for 3"):
        check_resources(4, parse_resources("cpu=1"))
    with pytest.raises(UsageError, match=r"gpu=1.*room for 0"):
        check_resources(1, parse_resources("cpu=1,gpu=1"))
    with pytest.raises(UsageError, match="not name=amount"):
        parse_resources("cpu")


def test_sandbox_jobs_on_every_node_give_the_local_verdicts(ray_cluster: str) -> None:
    from assay.code.score import load_problems, score_completions
    from assay.execution.ray_sandbox import RaySandbox
    from assay.sandbox import ProcessSandbox

    problems = load_problems("example")
    pairs = [(t, p.program(p.reference or "")) for t, p in problems.items()]
    pairs += [(t, "def broken(:\n") for t in problems]  # a syntax error in each
    pairs += [(t, "while True:\n    pass\n") for t in list(problems)[:2]]  # two timeouts
    remote = RaySandbox()
    try:
        got = score_completions(problems, pairs, sandbox=remote, whole_programs=True, min_time=0.5)
    finally:
        remote.close()
    with ProcessSandbox(workers=2) as box:
        want = score_completions(problems, pairs, sandbox=box, whole_programs=True, min_time=0.5)
    assert [o.result for o in got] == [o.result for o in want]
    assert [o.status for o in got].count("passed") == len(problems)
    assert [o.status for o in got].count("timeout") == 2


def test_a_node_sandbox_killed_mid_batch_reports_each_verdict_once(ray_cluster: str) -> None:
    """The Ray sandbox's runs go through ActorPool, the queue model units use: a SIGKILLed node actor's run is
    re-queued and Ray restarts the actor; `on_outcome` still sees every job exactly once."""
    import collections
    import os
    import signal
    import threading
    import time

    from assay.code.score import load_problems
    from assay.execution.ray_sandbox import RaySandbox
    from assay.sandbox import Limits

    slow = "import time\ntime.sleep(0.2)\n"
    problems = load_problems("example")
    jobs = [p.job(slow + p.program(p.reference or ""), Limits.fixed(5), whole_program=True) for p in problems.values()]
    jobs += [p.job(slow + p.program("    return None\n"), Limits.fixed(5), whole_program=True)
             for p in problems.values()]  # fmt: skip
    jobs *= 2
    lines: list[str] = []
    remote = RaySandbox(log=lines.append)
    seen: collections.Counter[int] = collections.Counter()
    killed: list[int] = []

    def kill_a_node() -> None:
        while remote.pool is None:
            time.sleep(0.01)
        time.sleep(0.3)  # both nodes are running a run of 8 programs
        killed.append(remote.pool.slots[0].info["pid"])
        os.kill(killed[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_a_node, daemon=True)
    killer.start()
    try:
        got = remote.run_batch(jobs, on_outcome=lambda i, o: seen.update([i]))
        killer.join(5)
        assert remote.pool is not None and remote.pool.requeued
    finally:
        remote.close()
    assert sorted(seen) == list(range(len(jobs))) and set(seen.values()) == {1}
    assert [o.passed for o in got] == ([True] * len(problems) + [False] * len(problems)) * 2
    assert any(f"(pid {killed[0]}) died; re-queued unit" in line for line in lines)
