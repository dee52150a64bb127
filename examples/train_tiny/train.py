"""A tiny real fine-tuning run for `assay audit train`: a few LoRA steps on SmolLM2-135M, on CPU, in seconds.

    assay audit train -- python examples/train_tiny/train.py              # seeded: reproduces
    assay audit train -- python examples/train_tiny/train.py --unseeded   # ignores ASSAY_SEED: does not

It follows the audit's contract: it seeds every random source from ASSAY_SEED, and writes its trained
weights (`adapter.safetensors`, the LoRA matrices) and `loss.jsonl` (one {"step", "loss"} per step) into
ASSAY_AUDIT_DIR. Randomness that matters here: the LoRA A matrices' initialisation, dropout masks and the
order in which batches are drawn.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

TEXTS = [
    "The capital of France is Paris.",
    "Water boils at one hundred degrees Celsius at sea level.",
    "A triangle has three sides and three angles.",
    "The quick brown fox jumps over the lazy dog.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "Seven times eight is fifty-six.",
    "The Pacific is the largest ocean on Earth.",
    "Bees make honey from the nectar of flowers.",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default=None, help="HF checkpoint folder (default: the smollm2-135m alias)"
    )
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--unseeded", action="store_true", help="seed from the clock instead of ASSAY_SEED")
    return parser.parse_args()


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # the same reduction order in every run


def build_model(folder: str):  # type: ignore[no-untyped-def]
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder, dtype="float32")
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.1, target_modules=["q_proj", "v_proj"])
    return tokenizer, get_peft_model(model, config)


def train(args: argparse.Namespace, out: Path) -> None:
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    folder = args.model or _alias_folder()
    tokenizer, model = build_model(folder)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr)
    order = torch.Generator().manual_seed(torch.initial_seed())  # batch order follows the seed too
    with (out / "loss.jsonl").open("w", encoding="utf-8") as log:
        for step in range(args.steps):
            pick = torch.randperm(len(TEXTS), generator=order)[: args.batch_size].tolist()
            batch = tokenizer([TEXTS[i] for i in pick], return_tensors="pt", padding=True)
            labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
            loss = model(**batch, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            log.write(json.dumps({"step": step, "loss": loss.item()}) + "\n")
            print(f"step {step}: loss {loss.item():.6f}", flush=True)
    state = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(model).items()}
    save_file(state, str(out / "adapter.safetensors"))


def _alias_folder() -> str:
    from assay.models.aliases import hf_folder

    return str(hf_folder("smollm2-135m"))


def require(module: str, extra: str) -> None:
    """Exit with one line naming the pip command when an optional dependency is missing."""
    import importlib
    import sys

    try:
        importlib.import_module(module)
    except ImportError:
        sys.exit(f"error: this example needs {module}: pip install 'assay[{extra}]'")


def main() -> None:
    args = parse_args()
    require("peft", "train")
    require("torch", "hf")
    out = Path(os.environ.get("ASSAY_AUDIT_DIR", "train_tiny_out"))
    out.mkdir(parents=True, exist_ok=True)
    seed = time.time_ns() % (2**31) if args.unseeded else int(os.environ.get("ASSAY_SEED", "1234"))
    seed_everything(seed)
    train(args, out)


if __name__ == "__main__":
    main()
