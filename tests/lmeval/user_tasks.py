"""A user's own lm-eval task files, as a team would keep them: a perplexity task over a text file
(loglikelihood_rolling, lm-eval's local-file form) and a group of two of lm-eval's tasks with a weighted mean."""

from __future__ import annotations

import json
from pathlib import Path

TEXTS = [
    "The quick brown fox jumps over the lazy dog. It was a sunny day in the small village by the river.",
    "Language models assign probabilities to sequences of words; perplexity measures how surprised a model is.",
    "In 1969, astronauts landed on the Moon for the first time, and millions of people watched on television.",
]


def write_user_tasks(folder: Path) -> Path:
    """`my_ppl` (word/byte perplexity, bits per byte over TEXTS) and `my_arc` (group of lm-eval's arc_easy and
    arc_challenge, acc weighted by size) in `folder`; returns it (an --include path)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = folder / "texts.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in TEXTS), encoding="utf-8")
    (folder / "my_ppl.yaml").write_text(
        "task: my_ppl\ndataset_path: json\ndataset_name: null\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: loglikelihood_rolling\ndoc_to_text: ''\ndoc_to_target: '{{text}}'\n"
        "metric_list:\n  - metric: word_perplexity\n  - metric: byte_perplexity\n  - metric: bits_per_byte\n"
        "metadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    (folder / "my_arc.yaml").write_text(
        "group: my_arc\ntask:\n  - arc_easy\n  - arc_challenge\naggregate_metric_list:\n"
        "  - metric: acc\n    aggregation: mean\n    weight_by_size: true\nmetadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    return folder
