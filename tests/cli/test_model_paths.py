"""`pretrained=` (and the gate's candidate) given as a path to nothing says "no such folder", not the hub's
complaint about a malformed repo id; `owner/name` stays a hub id."""

from __future__ import annotations

import pytest

from assay.models.hf import check_pretrained
from tests.cli.conftest import Cli, assert_refused
from tests.leaderboard.runfactory import write_run

BASE = "20261101-120000-aaaaaa"


@pytest.mark.parametrize("path", ["/no/such/ckpt", "./ckpt", "../ckpt", "~/no-such-ckpt", "out/run/ckpt", "ckpt/"])
def test_missing_local_folder_is_no_such_folder(cli: Cli, data_dir: str, path: str) -> None:
    cli.freeze()
    done = cli("run", "--model", "hf", "--model-args", f"pretrained={path}", "--tasks", "arc_easy",
               "--limit", "2", "--data-dir", str(data_dir))  # fmt: skip
    assert_refused(done, cli, f"error: no such folder: {path}", "hint: pretrained= is a local model folder")
    assert "Repo id" not in done.err


def test_gate_candidate_path_to_nothing(cli: Cli) -> None:
    write_run(cli.work / "runs", BASE, "2026-11-01T12:00:00+00:00", {("smol", "arc_easy"): [1, 0] * 5})
    cli.freeze()
    done = cli("gate", "--candidate", "./ckpt-7", "--baseline", BASE, "--tasks", "arc_easy")
    assert_refused(done, cli, "error: no such folder: ./ckpt-7")


def test_a_file_is_not_a_folder_and_hub_ids_pass(cli: Cli) -> None:
    cli.setup({"model.gguf": "GGUF"})
    with pytest.raises(Exception, match="is a file, not a folder"):
        check_pretrained("./model.gguf")
    check_pretrained("HuggingFaceTB/SmolLM2-135M-Instruct")  # a hub id: left to the hub
