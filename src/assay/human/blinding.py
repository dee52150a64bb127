"""What each annotator sees: a per-annotator item order and, in pairwise mode, which response goes left.

Both are derived from a hash of the annotator's name, so they are random across annotators (no shared order
effects, no fixed position bias) yet stable for one annotator: a reload or a server restart shows the same
item on the same sides. The side mapping is also stored with each rating, so exports never depend on
re-deriving it.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence


def _seed(*parts: str) -> int:
    # NUL separates parts so ("ab", "c") and ("a", "bc") differ
    digest = hashlib.sha256("\0".join(("assay-human", *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def annotator_order(annotator: str, item_ids: Sequence[str]) -> list[str]:
    """The order in which `annotator` sees `item_ids`: a shuffle seeded by the annotator's name."""
    order = list(item_ids)
    random.Random(_seed("order", annotator)).shuffle(order)
    return order


def is_swapped(annotator: str, item_id: str) -> bool:
    """True when `annotator` sees item `item_id` with response_b on the left (shown as "A")."""
    return _seed("sides", annotator, item_id) & 1 == 1
