"""Bad inputs to `assay run`, `assay tasks` and `assay models`: each is refused with one `error:` line (plus at
most a `hint:`), exit code 2, no traceback, and the working folder exactly as it was (no run folder, no
leaderboard row, no lock file, pre-existing files untouched). The fake backend stands in where a model is not
the point; every case fails before a model would load. test_good_input_writes_what_the_bad_ones_must_not is the
control: the same command with good input writes the run folder and the leaderboard these cases check for."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli, assert_refused

TASK = """name: tiny
dataset: {data_files: tiny.jsonl}
doc_to_text: "Q: {{question}}\\nA:"
doc_to_choice: "choices"
doc_to_target: "answer"
metrics: [acc]
"""
ROWS = (
    '{"question": "2+2?", "choices": ["3", "4"], "answer": 1}\n'
    '{"question": "1+1?", "choices": ["2", "5"], "answer": 0}\n'
)
RUN = ("run", "--model", "fake", "--tasks", "tiny.yaml", "--output", "out", "--leaderboard", "lb.csv", "-q")
FOREIGN_CSV = "name,email\nann,ann@example.org\n"


def _task(**changes: str) -> str:
    text = TASK
    for old, new in changes.items():
        text = text.replace(old.replace("__", ": "), new)
    return text


def test_a_leaderboard_saved_with_a_byte_order_mark_is_appended_to(cli: Cli) -> None:
    """Spreadsheet programs save CSV with a UTF-8 byte order mark: the header is still a leaderboard's."""
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    assert cli(*RUN).code == 0
    board = cli.work / "lb.csv"
    board.write_bytes(b"\xef\xbb\xbf" + board.read_bytes())
    again = cli(*RUN)
    assert again.code == 0, again.err
    shown = cli("leaderboard", "show", "--leaderboard", "lb.csv", "--json")
    assert shown.code == 0, shown.err
    assert board.read_bytes().startswith(b"\xef\xbb\xbf") and board.read_text().count("\n") == 3
    assert '"tiny": 1.0' in shown.out, shown.out  # the rows are read back through the mark


def test_good_input_writes_what_the_bad_ones_must_not(cli: Cli) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    done = cli(*RUN)
    assert done.code == 0, done.err
    assert (cli.work / "lb.csv").read_text().count("\n") == 2  # header + one row
    assert len(list((cli.work / "out").iterdir())) == 1


# (case id, files written first (besides tiny.yaml/tiny.jsonl), arguments, fragments of the error line)
RUN_CASES: list[tuple[str, dict[str, str | bytes], tuple[str, ...], tuple[str, ...]]] = [
    ("n-zero", {}, (*RUN, "--n", "0"), ("--n must be at least 1",)),
    ("num-fewshot-negative", {}, (*RUN, "--num-fewshot", "-2"), ("--num-fewshot must be 0 or more",)),
    ("limit-negative", {}, (*RUN, "--limit", "-1"), ("--limit must be a positive",)),
    ("limit-zero", {}, (*RUN, "--limit", "0"), ("--limit must be a positive",)),
    ("batch-size-word", {}, (*RUN, "--batch-size", "big"), ("--batch-size",)),
    ("hf-args-a=b=c", {}, ("run", "--model", "hf", "--model-args", "a=b=c", "--tasks", "tiny.yaml"),
     ("unknown hf model argument(s): a", "add_bos_token")),
    ("model-args-without-equals", {}, ("run", "--model", "hf", "--model-args", "pretrained", "--tasks", "tiny.yaml"),
     ("key=value",)),
    ("more-model-args-than-models", {}, (*RUN, "--model-args", "seed=1", "--model-args", "seed=2"),
     ("more --model-args than --model",)),
    ("fake-unknown-arg", {}, (*RUN, "--model-args", "sed=1"), ("sed",)),
    ("device-cuda-without-cuda", {}, ("run", "--model", "hf", "--model-args", "pretrained=.", "--tasks", "tiny.yaml",
     "--device", "cuda"), ("no CUDA device",)),
    ("device-unknown", {}, ("run", "--model", "hf", "--model-args", "pretrained=.", "--tasks", "tiny.yaml",
     "--device", "gpu0"), ("unknown device 'gpu0'",)),
    ("gguf-missing", {}, ("run", "--model", "hf", "--model-args", "pretrained=.,gguf_file=no.gguf", "--tasks",
     "tiny.yaml"), ("no.gguf does not exist",)),
    ("gguf-not-gguf", {"m.gguf": b"PK\x03\x04 a zip, not weights"}, ("run", "--model", "hf", "--model-args",
     "pretrained=.,gguf_file=m.gguf", "--tasks", "tiny.yaml"), ("not a GGUF file",)),
    ("hf-dtype-unknown", {}, ("run", "--model", "hf", "--model-args", "pretrained=.,dtype=float8", "--tasks",
     "tiny.yaml"), ("unknown dtype 'float8'",)),
    ("unknown-model", {}, ("run", "--model", "smollm3", "--tasks", "tiny.yaml"), ("unknown model 'smollm3'",)),
    ("unknown-task", {}, ("run", "--model", "fake", "--tasks", "arc_eazy"), ("did you mean 'arc_easy'",)),
    ("no-tasks", {}, ("run", "--model", "fake"), ("no tasks given",)),
    ("no-model", {}, ("run", "--tasks", "tiny.yaml"), ("no model given",)),
    ("jinja-syntax-error", {"tiny.yaml": _task(**{"{{question}}": "{{question}"})}, RUN,
     ("tiny.yaml:3:", "doc_to_text", "does not compile")),
    ("jinja-bad-expression", {"tiny.yaml": _task(**{'"answer"': '"answer +"'})}, RUN,
     ("tiny.yaml:5:", "doc_to_target", "does not compile")),
    ("row-lacks-target", {"tiny.jsonl": ROWS + '{"question": "3+3?", "choices": ["6", "7"]}\n'}, RUN,
     ("tiny.jsonl:3:", "answer")),
    ("row-lacks-template-field", {"tiny.jsonl": '\n{"choices": ["6", "7"], "answer": 0}\n'}, RUN,
     ("tiny.jsonl:2:", "question")),
    ("row-target-out-of-range", {"tiny.jsonl": '{"question": "q", "choices": ["a"], "answer": 7}\n'}, RUN,
     ("tiny.jsonl:1:", "outside")),
    ("task-fewshot-rows-outside", {"tiny.yaml": TASK + "num_fewshot: 1\nfewshot_rows: [9]\n"}, RUN,
     ("tiny.yaml", "fewshot_rows [9]", "2 rows")),
    ("task-num-fewshot-negative", {"tiny.yaml": TASK + "num_fewshot: -1\n"}, RUN, ("tiny.yaml", "num_fewshot")),
    ("task-scorer-not-importable", {"tiny.yaml": TASK + "scorer: nosuchmodule:score\n"}, RUN,
     ("nosuchmodule:score",)),
    ("task-choices-not-a-list", {"tiny.yaml": TASK.replace('"choices"', '"question"')}, RUN,
     ("tiny.jsonl:1:", "not a list of choices")),
    ("task-yaml-not-utf8", {"tiny.yaml": TASK.encode() + b"# caf\xe9\n"}, RUN, ("tiny.yaml", "UTF-8")),
    ("task-yaml-syntax", {"tiny.yaml": "name: [tiny\n"}, RUN, ("tiny.yaml",)),
    ("task-yaml-unknown-key", {"tiny.yaml": TASK + "shufle: true\n"}, RUN, ("tiny.yaml", "shufle")),
    ("task-metric-typo", {"tiny.yaml": TASK.replace("[acc]", "[acc_nrom]")}, RUN, ("acc_nrom",)),
    ("data-csv-not-utf8", {"tiny.yaml": TASK.replace("tiny.jsonl", "tiny.csv"),
                           "tiny.csv": b"question,choices,answer\ncaf\xe9,x,0\n"}, RUN, ("tiny.csv", "UTF-8")),
    ("data-file-missing", {"tiny.yaml": TASK.replace("tiny.jsonl", "gone.jsonl")}, RUN, ("gone.jsonl",)),
    ("data-torn-line", {"tiny.jsonl": ROWS + '{"question": "3+'}, RUN, ("tiny.jsonl:3", "malformed JSON")),
    ("output-is-a-file", {"out": "not a folder"}, RUN, ("--output out is a file",)),
    ("output-empty", {}, (*RUN, "--output", ""), ("--output is empty",)),
    ("output-under-a-file", {"afile": "x"}, (*RUN, "--output", "afile/runs"), ("cannot be created",)),
    ("leaderboard-is-a-folder", {"lb.csv/keep": "x"}, RUN, ("is a folder",)),
    ("leaderboard-foreign-csv", {"lb.csv": FOREIGN_CSV}, RUN, ("not a leaderboard", "name,email")),
    ("leaderboard-not-utf8", {"lb.csv": b"model,\xff\xfe\n"}, RUN, ("lb.csv", "UTF-8")),
    ("leaderboard-under-a-file", {"afile": "x"}, (*RUN, "--leaderboard", "afile/lb.csv"), ("cannot be created",)),
    ("gen-kwargs-typo", {}, (*RUN, "--gen-kwargs", "temperatur=0.5"), ("did you mean 'temperature'",)),
    ("gen-kwargs-bad-value", {}, (*RUN, "--gen-kwargs", "max_tokens=lots"), ("max_tokens",)),
    ("gen-kwargs-negative-temperature", {}, (*RUN, "--gen-kwargs", "temperature=-1"), ("temperature must be 0",)),
    ("gen-kwargs-zero-max-tokens", {}, (*RUN, "--gen-kwargs", "max_tokens=0"), ("max_tokens must be at least 1",)),
    ("batch-size-zero", {}, (*RUN, "--batch-size", "0"), ("--batch-size",)),
    ("gen-kwargs-without-equals", {}, (*RUN, "--gen-kwargs", "temperature"), ("key=value",)),
    ("resume-unknown-run", {}, ("run", "--resume", "20200101-000000-abcdef"), ("20200101-000000-abcdef",)),
    ("resume-torn-config", {"runs/20200101-000000-abcdef.partial/config.json": '{"models": [{"mod'},
     ("run", "--resume", "20200101-000000-abcdef"), ("config.json",)),
    ("models-file-invalid", {"models.yaml": "- {name: x, modle: hf}\n"}, ("run", "--models", "models.yaml",
     "--tasks", "tiny.yaml"), ("models.yaml",)),
    ("inline-api-key", {}, ("run", "--model", "openai-chat", "--model-args",
     "base_url=http://127.0.0.1:9/v1,api_key=sk-secret", "--tasks", "tiny.yaml"), ("api_key_env",)),
    ("file-name-with-markup", {"t[red].yaml": _task(**{"{{question}}": "{{question}"}), "x[/]": ""},
     ("run", "--model", "fake", "--tasks", "t[red].yaml"), ("t[red].yaml:3:",)),
    ("pattern-with-closing-tag", {}, ("run", "--model", "fake", "--tasks", "x[/]y"), ("'x[/]y'",)),
]  # fmt: skip


@pytest.mark.parametrize(("files", "args", "fragments"), [c[1:] for c in RUN_CASES], ids=[c[0] for c in RUN_CASES])
def test_run_refuses(
    cli: Cli, files: dict[str, str | bytes], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    cli.setup({"tiny.yaml": TASK, "tiny.jsonl": ROWS, **files})
    done = cli(*args)
    assert_refused(done, cli, *fragments)
    assert "sk-secret" not in done.err


TASKS_CASES: list[tuple[str, dict[str, str | bytes], tuple[str, ...], tuple[str, ...]]] = [
    ("include-jinja-error", {"tiny.yaml": _task(**{"{{question}}": "{% if question %}"})},
     ("tasks", "--include", "tiny.yaml"), ("tiny.yaml:3:", "does not compile")),
    ("include-missing-file", {}, ("tasks", "--include", "gone.yaml"), ("gone.yaml",)),
    ("include-not-utf8", {"tiny.yaml": b"name: caf\xe9\n"}, ("tasks", "--include", "tiny.yaml"), ("UTF-8",)),
    ("include-row-lacks-field", {"tiny.jsonl": '{"question": "q", "choices": ["a"]}\n'},
     ("tasks", "--include", "tiny.yaml"), ("tiny.jsonl:1:", "answer")),
    ("include-folder-with-bad-file", {"suite/a.yaml": _task(**{"{{question}}": "{{ question | nosuchfilter }}"})},
     ("tasks", "--include", "suite"), ("a.yaml:3:", "nosuchfilter")),
    ("models-path-unknown-alias", {}, ("models", "path", "smollm3"), ("smollm3",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("files", "args", "fragments"), [c[1:] for c in TASKS_CASES], ids=[c[0] for c in TASKS_CASES]
)
def test_tasks_and_models_refuse(
    cli: Cli, files: dict[str, str | bytes], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    cli.setup({"tiny.yaml": TASK, "tiny.jsonl": ROWS, **files})
    assert_refused(cli(*args), cli, *fragments)


def test_tasks_include_accepts_a_good_file(cli: Cli) -> None:
    cli.write("tiny.yaml", TASK)
    cli.write("tiny.jsonl", ROWS)
    done = cli("tasks", "tiny", "--include", "tiny.yaml")
    assert done.code == 0 and "tiny" in done.out, done.err


def test_no_data_folder_and_no_hub_is_one_quick_line(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A built-in task without --data-dir reads the hub; when it cannot be reached that is one line at once
    (it was half a minute of retries, each printed), and nothing is written."""
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: refused at once
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    cli.freeze()
    assert_refused(cli("run", "--model", "fake", "--tasks", "arc_easy", "--output", "out", "-q"), cli,
                   "cannot be reached", "--data-dir")  # fmt: skip
