"""User mistakes: one line that says what is wrong and how to fix it, exit code 2, nothing half-written."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import assay_cmd


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(assay_cmd(*args), cwd=cwd, capture_output=True, text=True, timeout=300)


def test_unknown_task_suggests_the_closest(tmp_path: Path) -> None:
    res = _run("run", "--model", "smollm2-135m", "--tasks", "arc_eazy", "--output", "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "unknown task 'arc_eazy'" in res.stderr and "did you mean 'arc_easy'" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_model_lists_the_known_ones(tmp_path: Path) -> None:
    res = _run("run", "--model", "smollm3", "--tasks", "arc_easy", "--output", "out", cwd=tmp_path)
    assert res.returncode == 2
    assert "unknown model 'smollm3'" in res.stderr and "smollm2-135m" in res.stderr
    assert not (tmp_path / "out").exists()


def test_bad_batch_size_and_model_args(tmp_path: Path) -> None:
    res = _run("run", "--model", "hf", "--model-args", "pretrained", "--tasks", "arc_easy", cwd=tmp_path)
    assert res.returncode == 2 and "key=value" in res.stderr
    res = _run("run", "--model", "hf", "--tasks", "arc_easy", "--batch-size", "big", cwd=tmp_path)
    assert res.returncode == 2 and "batch" in res.stderr.lower()


def test_malformed_row_names_file_and_line_and_leaves_no_run(tmp_path: Path, data_dir: Path) -> None:
    local = tmp_path / "data" / "allenai" / "ai2_arc" / "ARC-Easy"
    local.mkdir(parents=True)
    rows = (data_dir / "allenai/ai2_arc/ARC-Easy/test.jsonl").read_text().splitlines()[:5]
    rows[2] = rows[2][:40]  # a torn line
    (local / "test.jsonl").write_text("\n".join(rows) + "\n")
    res = _run("run", "--model", "smollm2-135m", "--tasks", "arc_easy", "--data-dir", str(tmp_path / "data"),
               "--output", "out", "--quiet", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "test.jsonl:3: malformed JSON" in res.stderr and "Traceback" not in res.stderr
    assert not any((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True
    assert not (tmp_path / "data" / "leaderboard.csv").exists()


def test_missing_data_folder(tmp_path: Path) -> None:
    res = _run("run", "--model", "smollm2-135m", "--tasks", "arc_easy", "--data-dir", "nowhere", cwd=tmp_path)
    assert res.returncode == 2 and "data folder nowhere does not exist" in res.stderr


def test_resume_of_unknown_run(tmp_path: Path) -> None:
    res = _run("run", "--resume", "20200101-000000-abcdef", cwd=tmp_path)
    assert res.returncode == 2 and "no unfinished run" in res.stderr


def test_models_file_is_validated(tmp_path: Path) -> None:
    bad = tmp_path / "models.yaml"
    bad.write_text(json.dumps([{"name": "x", "modle": "hf"}]))
    res = _run("run", "--models", str(bad), "--tasks", "arc_easy", cwd=tmp_path)
    assert res.returncode == 2 and "models.yaml" in res.stderr


def test_inline_api_key_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    res = _run("run", "--model", "openai-chat", "--model-args", "base_url=http://127.0.0.1:9/v1,api_key=sk-secret",
               "--tasks", "gsm8k", "--output", "out", cwd=tmp_path)  # fmt: skip
    assert res.returncode == 2 and "api_key_env" in res.stderr and "sk-secret" not in res.stderr
    assert not (tmp_path / "out").exists()


def test_mistyped_command_or_option_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, expected in (
        (("runn",), "No such command 'runn'"),
        (("run", "--modle", "smollm2-135m"), "No such option: --modle"),
        (("check-code", "--problems", "humaneval"), "Missing argument"),
    ):
        res = _run(*args, cwd=tmp_path)
        assert res.returncode == 2, (args, res.stderr)
        assert expected in res.stderr and "Traceback" not in res.stderr, res.stderr
