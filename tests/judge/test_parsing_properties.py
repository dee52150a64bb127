"""A judge's reply is text assay does not control: parsing it never raises, and garbage never stops a run.

Property tests over the three verdict parsers (rating, JSON score, pairwise) with hostile text (tests/hostile.py),
the issue's numbers as plain cases, and a real `assay judge items` run whose judge (a small OpenAI-compatible
server started here, answering through the real openai-chat backend) sends garbage for some items.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from assay.judge.parsing import SCORE_MAX, SCORE_MIN, Parsed, parse, parse_json_score, parse_pair, parse_rating
from tests.conftest import assay_cmd
from tests.hostile import BOUNDED, hostile

RATING_TEMPLATES = ["Rating: [[{}]]", "[{}]", "[[{}]] and [[{}]]", "The answer is fine. [[ {} ]]"]
JSON_TEMPLATES = ['{"score": {}}', '```json\n{"score": {}, "reasoning": "r"}\n```', '{"score": "{}"}',
                  'prose {"score": {}} more {"score": 3}', '{"score": {"a": {}}}', "{}"]  # fmt: skip
PAIR_TEMPLATES = ["[[{}]]", "[[A]] {}", "{} [[B]]", "[[{}]] [[C]]"]


def _well_formed(parsed: Parsed) -> None:
    assert isinstance(parsed, Parsed)
    if parsed.ok:
        assert not parsed.error and isinstance(parsed.reasoning, str)
    else:
        assert parsed.error and len(parsed.error) < 400


@BOUNDED
@given(hostile(RATING_TEMPLATES))
def test_rating_parser_returns_a_score_in_range_or_a_reason(text: str) -> None:
    parsed = parse_rating(text)
    _well_formed(parsed)
    if parsed.ok:
        assert isinstance(parsed.value, float) and SCORE_MIN <= parsed.value <= SCORE_MAX


@BOUNDED
@given(hostile(JSON_TEMPLATES))
def test_json_score_parser_returns_a_score_in_range_or_a_reason(text: str) -> None:
    parsed = parse_json_score(text)
    _well_formed(parsed)
    if parsed.ok:
        assert isinstance(parsed.value, float) and math.isfinite(parsed.value)
        assert SCORE_MIN <= parsed.value <= SCORE_MAX


@BOUNDED
@given(hostile(PAIR_TEMPLATES))
def test_pair_parser_returns_a_verdict_or_a_reason(text: str) -> None:
    parsed = parse_pair(text)
    _well_formed(parsed)
    assert parsed.value in ("A", "B", "tie", None)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"score": 1' + "0" * 400 + "}", "outside 1-10"),  # was OverflowError
        ('{"score": 1' + "0" * 5000 + "}", 'no JSON object with a "score"'),  # was ValueError (int digit limit)
        ('{"score": "1' + "0" * 5000 + '"}', "outside 1-10"),
        ('{"score": NaN}', "rating nan is outside"),
        ('{"score": -Infinity}', "outside"),
        ('{"score": ' + "[" * 100_000 + "]" * 100_000 + "}", 'no JSON object with a "score"'),  # RecursionError
        ('{"score": "' + "x" * 10_000 + '"}', "is not a number"),
    ],
)
def test_the_numbers_that_crashed_the_json_parser_are_unparsed(text: str, error: str) -> None:
    parsed = parse(text, "json")
    assert parsed.value is None and error in parsed.error and len(parsed.error) < 200


def test_a_rating_of_hundreds_of_digits_is_out_of_range() -> None:
    assert parse("[[1" + "0" * 400 + "]]", "rating").error == "rating inf is outside 1-10"
    assert parse("[[\u0667]]", "rating").value == 7.0  # \d is any decimal digit, as in FastChat's pattern


# ------------------------------------------------------------ a judge run through the CLI, some replies garbage

GARBAGE = {
    "huge": '{"score": 1' + "0" * 400 + "}",
    "past-the-digit-limit": '{"score": 1' + "0" * 5000 + "}",
    "nan": '{"score": NaN, "reasoning": "?"}',
    "nested": "{" * 5000 + '"score": 5' + "}" * 5000,
    "nul": '{"score": "\x00"}',
    "lone-surrogate": "[[\udcff]] rated",  # sent as the JSON escape \udcff: read back as a lone surrogate
    "prose": "I would rate this answer quite highly.",
}


class JudgeServer(ThreadingHTTPServer):
    """An OpenAI-compatible chat endpoint whose judge reads the answer: `good-N` is rated N, else garbage."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), JudgeHandler)


class JudgeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        self._send({"data": [{"id": "judge", "object": "model", "owned_by": "test"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][-1]["content"]
        good = next((n for n in range(1, 11) if f"good-{n}\n" in prompt), None)
        kind = next((k for k in GARBAGE if f"bad-{k}\n" in prompt), "prose")
        text = f'{{"score": {good}, "reasoning": "fine"}}' if good else GARBAGE[kind]
        self._send({"choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
                                                                                    "content": text}}]})  # fmt: skip

    def _send(self, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def judge_server() -> Iterator[str]:
    server = JudgeServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_a_judge_run_with_garbage_replies_completes_with_them_unscored(judge_server: str, tmp_path: Path) -> None:
    import subprocess

    answers = ["good-7", *(f"bad-{k}" for k in GARBAGE), "good-3"]
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps({"item_id": f"i{n}", "prompt": "Q?", "response": a, "model": "m"}) + "\n"
                             for n, a in enumerate(answers)))  # fmt: skip
    out = tmp_path / "judgments.jsonl"
    done = subprocess.run(assay_cmd("judge", "items", str(items), "--judge", "openai-chat", "--judge-args",
                                    f"base_url={judge_server},model=judge", "--retries", "1", "--no-cache",
                                    "--output", str(out)), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"wrote {len(answers)} judgments to {out} ({len(GARBAGE)} unscored)" in done.stderr
    rows = {r["item_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["i0"]["score"] == 7.0 and rows[f"i{len(answers) - 1}"]["score"] == 3.0
    for n in range(1, len(answers) - 1):
        row = rows[f"i{n}"]
        assert row["score"] is None and row["attempts"] == 2 and row["error"], row
    assert "outside 1-10" in rows["i1"]["error"] and "nan is outside" in rows["i3"]["error"]
    assert rows["i6"]["outputs"] == [GARBAGE["lone-surrogate"]] * 2  # written and read back as it came
