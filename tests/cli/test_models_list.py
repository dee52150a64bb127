"""`assay models` lists every backend; the fake backend (kept registered for tests and benches) says it is for
testing only, and the production backends do not."""

from __future__ import annotations

from tests.cli.conftest import Cli


def test_the_fake_backend_is_listed_as_testing_only(cli: Cli) -> None:
    done = cli("models")
    assert done.code == 0, done.err
    rows = {line.split("│")[1].strip(): line for line in done.out.splitlines() if line.count("│") >= 3}
    assert "testing only" in rows["fake"]
    for name in ("hf", "llamacpp", "openai-chat", "openai-completions"):
        assert "testing" not in rows[name], rows[name]
