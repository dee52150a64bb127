"""lm-eval's Jinja templates compiled once per process instead of once per document.

lm-eval 0.4.13's `utils.apply_template` calls `env.from_string(template)` on every render: a prompt, its
choices and its target are each compiled anew for every document, in request building and again in
process_results (on arc_easy, ~90% of lm-eval's own per-document time). Compiling is a pure function of the
template text and lm-eval's module-level Environment, so the compiled template is kept by text (bounded) and
rendered exactly as before, with lm-eval's own Environment: the same strings, the same errors.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_installed = False


def install() -> None:
    """Route lm-eval's `utils.apply_template` through the compiled-template cache (idempotent)."""
    global _installed
    if _installed:
        return
    from lm_eval import utils

    compile_once = lru_cache(maxsize=4096)(utils.env.from_string)

    def apply_template(template: str, doc: dict[str, Any]) -> str:
        return compile_once(template).render(**doc)

    apply_template.__doc__ = utils.apply_template.__doc__
    utils.apply_template = apply_template
    _installed = True
