"""Code extraction from completions, on the shapes models actually produce."""

from __future__ import annotations

from assay.code.extract import extract_code


def test_body_continuation_keeps_code_and_drops_trailing_prose() -> None:
    completion = "    return a + b\n\nThis function adds two numbers.\nHope it helps!"
    assert extract_code(completion, "add") == "    return a + b\n"


def test_fenced_block_wins_and_prefers_the_entry_point() -> None:
    completion = (
        "Here is a helper:\n```python\ndef helper():\n    pass\n```\n"
        "And the answer:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    )
    code = extract_code(completion, "add")
    assert "def add(a, b):" in code and "helper" not in code and code.startswith("\n")


def test_unterminated_fence_is_still_code() -> None:
    assert "return 1" in extract_code("```python\ndef f():\n    return 1\n", "f")


def test_program_mode_stops_at_done_and_keeps_module_statements() -> None:
    completion = "import math\nCONST = 3\ndef area(r):\n    return math.pi * r * r\n[DONE]\nextra text"
    code = extract_code(completion, "area", mode="program")
    assert code == "import math\nCONST = 3\ndef area(r):\n    return math.pi * r * r\n"


def test_helper_functions_after_the_body_are_kept() -> None:
    completion = "    return _double(x)\n\ndef _double(y):\n    return 2 * y\n"
    assert extract_code(completion, "f") == completion
