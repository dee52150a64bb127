"""When to retry an HTTP call and how long to wait: exponential backoff with jitter, Retry-After honoured.

A request is retried on 408/409/425/429/5xx answers and on transport failures (refused or dropped connections,
timeouts); any other 4xx is the caller's mistake and fails at once. The wait before attempt k (k = 1, 2, ...)
is a random point in [b/2, b] with b = min(max_delay, base_delay * 2**(k-1)): the jitter keeps many clients
from retrying in lockstep, the lower bound keeps the backoff growing. A server's Retry-After wins when longer.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times to retry and how long to back off between attempts."""

    max_retries: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0  # a Retry-After beyond this is clipped (a misconfigured server must not hang us)

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        rand = rng or random
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(0, attempt - 1))
        backoff = rand.uniform(ceiling / 2, ceiling)
        if retry_after is None:
            return backoff
        # the server knows its load better than our schedule; a little jitter spreads our replicas
        return max(backoff, min(retry_after, self.max_retry_after) + rand.uniform(0, 0.1))


def is_retryable_status(status: int) -> bool:
    """True for answers that a later identical request may not get (overload, server faults)."""
    return status in RETRYABLE_STATUS or 500 <= status < 600


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))
