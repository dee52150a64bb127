"""lm-eval's model interface answered by an assay model.

lm-eval hands a model every request of one type at once (`loglikelihood`, `loglikelihood_rolling`,
`generate_until`), as Instances. AssayLM turns them into assay's frozen requests, one request list per task (so
units of work are named and formed per task, as for assay's own tasks), and has the model, behind the response
cache and run journal, compute whatever is not known yet: on any executor (local or Ray), resumable, with
assay's packed scorer and shared prefixes. Only the answers go back to lm-eval, in lm-eval's shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lm_eval.api.model import LM

from assay.errors import ConfigError
from assay.execution.kinds import Kind
from assay.models.cache import CachedModel
from assay.progress import RunProgress
from assay.records import GenerationRequest, LoglikelihoodRequest, Request, RollingRequest

DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default when a task's generation_kwargs name none


def generation_request(args: tuple[Any, ...], n: int, seed: int) -> GenerationRequest:
    """An lm-eval generate_until argument pair (context, gen_kwargs) as assay's request, `n` samples.

    Greedy unless `do_sample` is true (lm-eval's hf model drops a temperature of 0 and samples only then); stop
    at every `until` string; at most `max_gen_toks` new tokens."""
    context, kwargs = args[0], dict(args[1] or {})
    until = kwargs.pop("until", None) or ()
    stop = (until,) if isinstance(until, str) else tuple(until)
    max_tokens = int(kwargs.pop("max_gen_toks", DEFAULT_MAX_GEN_TOKS))
    sample = bool(kwargs.pop("do_sample", False))
    temperature = float(kwargs.pop("temperature", 1.0 if sample else 0.0) or 0.0)
    top_p = float(kwargs.pop("top_p", 1.0) or 1.0)
    if not sample:
        temperature = 0.0
    return GenerationRequest(prompt=context, stop=stop, max_tokens=max_tokens, temperature=temperature,
                             top_p=top_p, n=n, seed=seed if temperature > 0 else None)  # fmt: skip


class AssayLM(LM):  # type: ignore[misc]
    """An lm-eval LM whose answers come from an assay model (see the module docstring)."""

    def __init__(self, model: CachedModel, progress: RunProgress, label: str, seed: int,
                 tokenizer: Any = None) -> None:  # fmt: skip
        super().__init__()
        self.model = model
        self.progress = progress
        self.label = label
        self.seed = seed
        self.tokenizer = tokenizer  # the model's own (hf backend), for --apply-chat-template

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        reqs = [LoglikelihoodRequest(context=r.args[0], continuation=r.args[1]) for r in requests]
        return [(a.logprob, a.is_greedy) for a in self._answer("loglikelihood", requests, reqs)]

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        reqs = [RollingRequest(text=r.args[0]) for r in requests]
        return [a.logprob for a in self._answer("rolling", requests, reqs)]

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        # lm-eval repeats an Instance `repeats` times in a row: one request with n samples
        runs: list[list[Any]] = []
        for inst in requests:
            if runs and runs[-1][0] is inst:
                runs[-1][1] += 1
            else:
                runs.append([inst, 1])
        reqs = [generation_request(inst.args, n, self.seed) for inst, n in runs]
        texts: list[str] = []
        for (_, n), answer in zip(runs, self._answer("generate", [inst for inst, _ in runs], reqs), strict=True):
            texts.extend(answer.texts[:n])
        return texts

    @property
    def tokenizer_name(self) -> str:
        return str(getattr(self.tokenizer, "name_or_path", self.label)).replace("/", "__")

    def chat_template(self, chat_template: bool | str = False) -> str | None:
        return getattr(self.tokenizer, "chat_template", None) if chat_template else None

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        """The conversation as the model's chat template renders it, as lm-eval's hf model does: a template that
        refuses a system turn gets the conversation without it."""
        import jinja2

        if self.tokenizer is None or not getattr(self.tokenizer, "chat_template", None):
            raise ConfigError(
                f"--apply-chat-template: model {self.label} has no chat template",
                hint="use an instruct model (hf backend), or run without --apply-chat-template",
            )
        kwargs = {"tokenize": False, "add_generation_prompt": add_generation_prompt,
                  "continue_final_message": not add_generation_prompt}  # fmt: skip
        try:
            return str(self.tokenizer.apply_chat_template(chat_history, **kwargs))
        except jinja2.exceptions.TemplateError:
            chat_history = [turn for turn in chat_history if turn["role"] != "system"]
            return str(self.tokenizer.apply_chat_template(chat_history, **kwargs))

    def _answer(self, kind: Kind, instances: Sequence[Any], requests: Sequence[Request]) -> list[Any]:
        """Answers in order; the requests of each task form one work list (units named after the task)."""
        by_task: dict[str, list[int]] = {}
        for i, inst in enumerate(instances):
            by_task.setdefault(str(inst.task_name), []).append(i)
        lists = [self.model.work_list(f"lm:{task}", kind, [requests[i] for i in idx]) for task, idx in by_task.items()]
        what = {"loglikelihood": "scoring", "rolling": "scoring texts", "generate": "generating"}[kind]
        with self.progress.task(f"{self.label} · lm-eval {what}", len(requests)) as advance:
            answers = self.model.run_lists(lists, advance)
        out: list[Any] = [None] * len(requests)
        for idx, got in zip(by_task.values(), answers, strict=True):
            for i, answer in zip(idx, got, strict=True):
                out[i] = answer
        return out
