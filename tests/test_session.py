"""RunSession, the one composer of a run: a model opened once per spec behind the journal, Ctrl-C kept with the
command's own resume line, a resumed session computing only what the journal lacks, and a failure before any
answer leaving nothing behind. In process, with a scripted model (the real-model runs are in tests/judge and
tests/runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.config import ModelSpec
from assay.errors import Interrupted, ModelError
from assay.records import GenerationRequest
from assay.session import RunSession, RunStart
from tests.judge.helpers import ScriptedModel

SPEC = ModelSpec(model="fake", name="judge")
REQUESTS = [GenerationRequest(prompt=f"q{i}", max_tokens=4) for i in range(5)]


def _start(out: Path, resume_dir: Path | None = None) -> RunStart:
    # chunk_size 8: one generation per unit, each committed to the journal as it finishes
    return RunStart(command="judge-mtbench", config={"what": "test"}, output=out, resume_dir=resume_dir,
                    resume="assay judge mtbench --resume", use_cache=False, chunk_size=8)  # fmt: skip


def _stop_at(n: int) -> ScriptedModel:
    def reply(request: GenerationRequest) -> str:
        if request.prompt == f"q{n}":
            raise KeyboardInterrupt
        return request.prompt.upper()

    return ScriptedModel(reply)


def test_interrupted_session_keeps_its_journal_and_resumes_computing_only_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    session = RunSession.start(_start(out))
    first = _stop_at(2)
    with pytest.raises(Interrupted) as info, session.guard():
        model, _ = session.open_model(SPEC, inner=first)
        assert session.open_model(SPEC, inner=ScriptedModel(str))[0] is model  # one model per spec
        model.generate(REQUESTS)
    [partial] = out.glob("*.partial")
    assert info.value.hint == f"continue with: assay judge mtbench --resume {partial}"
    assert [r.prompt for r in first.requests] == ["q0", "q1", "q2"]  # q2 was in flight when it stopped

    again = ScriptedModel(lambda r: r.prompt.upper())
    resumed = RunSession.start(_start(out, resume_dir=partial))
    with resumed.guard():
        model, model_info = resumed.open_model(SPEC, inner=again)
        texts = [r.texts[0] for r in model.generate(REQUESTS)]
        totals = resumed.totals()
    assert texts == ["Q0", "Q1", "Q2", "Q3", "Q4"]
    assert [r.prompt for r in again.requests] == ["q2", "q3", "q4"]  # the journaled two are not asked again
    assert (totals["requests_cached"], totals["requests_computed"]) == (2, 3)
    record, folder = resumed.finish(models=[model_info], results=[], stats={"judge": totals})
    assert folder == out / partial.name.removesuffix(".partial") and not partial.exists()
    assert (record.command, record.config, record.models[0].name) == ("judge-mtbench", {"what": "test"}, "judge")
    assert (folder / "responses.sqlite").is_file() and (folder / "summary.json").is_file()


def test_a_failure_before_any_answer_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    session = RunSession.start(_start(out))
    assert list(out.glob("*.partial"))
    with pytest.raises(ModelError), session.guard():
        session.open_model(SPEC, inner=ScriptedModel(str))
        raise ModelError("the server went away")
    assert not out.exists()  # the partial folder and the runs/ folder made for it are gone
