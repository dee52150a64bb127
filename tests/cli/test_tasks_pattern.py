"""`assay tasks PATTERN` with a pattern that matches nothing is a mistake (exit 2, one line, a did-you-mean hint),
not an empty table with exit 0."""

from __future__ import annotations

from tests.cli.conftest import Cli, assert_refused


def test_unknown_pattern_exits_2_with_a_hint(cli: Cli) -> None:
    cli.freeze()
    typo = cli("tasks", "hellaswg")
    assert_refused(typo, cli, "error: no task or group matches 'hellaswg'", "hint: did you mean 'hellaswag'?")
    assert typo.out == ""
    nothing = cli("tasks", "nosuch")
    assert_refused(nothing, cli, "no task or group matches 'nosuch'", "`assay tasks` lists them all")


def test_a_pattern_that_matches_only_a_group_is_not_an_error(cli: Cli) -> None:
    done = cli("tasks", "mmlu_stem")  # part of no task name, but the name of a group
    assert done.code == 0, done.err
    assert "mmlu_stem (group of" in done.out
