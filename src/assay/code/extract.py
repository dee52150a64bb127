"""Code extraction from model completions: fenced blocks, function-body continuations, trailing chatter.

    extract_code(completion, entry_point="add", mode="body")

mode "body": the model continues a function stub (HumanEval); mode "program": it writes a whole program
(MBPP). A fenced block (```python ... ```) wins when present: instruct models answer that way.
"""

from __future__ import annotations

import re
from typing import Literal

_FENCE = re.compile(r"```[ \t]*(?:python|py|Python)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL)
_CODE_START = ("def ", "class ", "import ", "from ", "@", "#", "if __name__", "async def ")


def _fenced(text: str, entry_point: str) -> str | None:
    blocks = _FENCE.findall(text)
    if not blocks:
        return None
    for block in blocks:  # prefer the block that defines the function asked for
        if re.search(rf"^\s*(async\s+)?def\s+{re.escape(entry_point)}\s*\(", block, re.MULTILINE):
            return str(block)
    return str(blocks[0])


def _cut_chatter(code: str, mode: Literal["body", "program"]) -> str:
    """Drop trailing prose: the first non-blank line that cannot continue the code ends it."""
    kept: list[str] = []
    for line in code.splitlines():
        stripped = line.strip()
        indented = line[:1] in {" ", "\t"}
        if not stripped or indented or line.startswith(_CODE_START):
            kept.append(line)
            continue
        if mode == "program" and re.match(r"^[A-Za-z_][\w.]*\s*(=|\(|\[)", line):
            kept.append(line)  # module-level statements are code in a whole program
            continue
        break
    return "\n".join(kept).rstrip() + "\n"


def extract_code(completion: str, entry_point: str = "", mode: Literal["body", "program"] = "body") -> str:
    """The code in a completion, ready to append to the prompt (body) or to run alone (program)."""
    text = completion.replace("\r\n", "\n")
    if mode == "program":
        text = text.split("[DONE]")[0]
    fenced = _fenced(text, entry_point)
    if fenced is not None:
        code = fenced
        # a whole function inside a fence replaces the stub; a newline keeps it off the docstring line
        return "\n" + _cut_chatter(code, "program")
    return _cut_chatter(text, mode)
