"""assay's stand-in for transformers' removed squad_metrics (assay/lmeval/compat.py) against the original.

transformers 5 dropped `transformers.data.metrics.squad_metrics`, which 52 lm-eval 0.4.13 tasks import; assay
provides normalize_answer, compute_exact and compute_f1 itself. This script fetches the last transformers 4
wheel from PyPI (no dependencies, into a temporary folder), takes those functions from its squad_metrics.py
(read, not installed: its other imports are not needed by them) and compares them with assay's on generated
answer pairs: punctuation, articles, case, whitespace, unicode, empty answers, repeated tokens.

    .venv/bin/python bench/parity_squad_compat.py [--pairs 20000]
"""

from __future__ import annotations

import argparse
import ast
import collections
import random
import re
import string
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

WHEEL = "transformers==4.57.6"
SOURCE = "transformers/data/metrics/squad_metrics.py"
FUNCTIONS = {"normalize_answer", "get_tokens", "compute_exact", "compute_f1"}
WORDS = ["the", "The", "a", "an", "An", "cat", "Cat's", "theater", "an-apple", "U.S.", "naïve", "café", "1,000",
         "dog", "dogs", "", " ", "\t", "!", "?!", "(the)", "«a»", "Ünïcode", "x", "x", "ΑΒΓ", "A.", "thé"]  # fmt: skip


def reference() -> dict[str, Any]:
    """The four functions of transformers 4's squad_metrics.py, from the wheel on PyPI."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", WHEEL, "-d", tmp], check=True)
        (wheel,) = Path(tmp).glob("*.whl")
        text = zipfile.ZipFile(wheel).read(SOURCE).decode()
    tree = ast.parse(text)
    tree.body = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name in FUNCTIONS]
    namespace: dict[str, Any] = {"re": re, "string": string, "collections": collections}
    exec(compile(tree, SOURCE, "exec"), namespace)  # noqa: S102 - the reference's own definitions
    return namespace


def answer(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(0, 6))
    text = rng.choice(["", " ", "  "]).join(words) if rng.random() < 0.3 else " ".join(words)
    if rng.random() < 0.2:
        text += rng.choice(string.punctuation)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20000)
    args = parser.parse_args()
    from assay.lmeval import compat

    ref = reference()
    rng = random.Random(0)
    differ = partial = 0
    for _ in range(args.pairs):
        gold, pred = answer(rng), answer(rng)
        ours = (compat.normalize_answer(gold), compat.compute_exact(gold, pred), compat.compute_f1(gold, pred))
        theirs = (ref["normalize_answer"](gold), ref["compute_exact"](gold, pred), ref["compute_f1"](gold, pred))
        partial += 0 < theirs[2] < 1
        if ours != theirs or [type(v) for v in ours] != [type(v) for v in theirs]:
            differ += 1
            if differ <= 5:
                print(f"differ: {gold!r} {pred!r}: assay {ours} transformers 4 {theirs}")
    print(f"squad_metrics: {args.pairs} answer pairs, {args.pairs - differ} identical (values and types), "
          f"{differ} differ; {partial} with an F1 strictly between 0 and 1")
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
