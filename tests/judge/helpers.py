"""A scripted Model for the judge's machinery tests: answers come from a function of the request.

It implements the Model protocol exactly (batch in, batch out) and records every request it receives, so
the tests can check what the judge asked for (temperature, seed, messages) as well as what it made of the
answers. The real-model behaviour is covered by the integration test with smollm2-135m.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from assay.models.base import ModelDefaults, Progress
from assay.records import GenerationRequest, GenerationResponse, LoglikelihoodRequest, LoglikelihoodResponse


class ScriptedModel(ModelDefaults):
    backend = "scripted"

    def __init__(self, reply: Callable[[GenerationRequest], str], name: str = "scripted") -> None:
        self.reply = reply
        self.name = name
        self.requests: list[GenerationRequest] = []
        self.calls = 0

    @property
    def fingerprint(self) -> str:
        return f"scripted:{self.name}"

    def generate(
        self, requests: Sequence[GenerationRequest], progress: Progress | None = None
    ) -> list[GenerationResponse]:
        self.calls += 1
        self.requests.extend(requests)
        if progress is not None:
            progress(len(requests))
        return [GenerationResponse(texts=(self.reply(r),)) for r in requests]

    def loglikelihood(
        self, requests: Sequence[LoglikelihoodRequest], progress: Progress | None = None
    ) -> list[LoglikelihoodResponse]:
        raise NotImplementedError

    def close(self) -> None:
        pass


def run_cli(args: list[str], capsys: object) -> tuple[int, str, str]:
    """Run `assay ARGS` in this process (as the console script does); returns (exit code, stdout, stderr)."""
    import sys

    import pytest

    from assay.cli.main import main

    saved = sys.argv
    sys.argv = ["assay", *args]
    try:
        with pytest.raises(SystemExit) as info:
            main()
            raise SystemExit(0)
    finally:
        sys.argv = saved
    captured = capsys.readouterr()  # type: ignore[attr-defined]
    return int(info.value.code or 0), captured.out, captured.err
