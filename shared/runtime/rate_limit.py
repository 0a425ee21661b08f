"""A per-caller request budget for HTTP functions: a token bucket per caller identity, per
instance (so a deployment allows at most `max_instances` × the budget). A caller over its budget
gets 429 with Retry-After; one caller cannot spend another's budget."""
from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from typing import Callable

MAX_TRACKED_CALLERS = 10_000  # identities are verified service accounts; bounded anyway


class CallerRateLimit:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # identity -> (tokens, at)
        self._lock = threading.Lock()

    def seconds_until_allowed(self, identity: str) -> float:
        """0 when this request may go ahead (its token is spent), else how long to wait."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.pop(identity, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - at) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[identity] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > MAX_TRACKED_CALLERS:
                self._buckets.popitem(last=False)
            return wait


RATE_LIMIT_ENV = "SPORTSFLOW_RATE_LIMIT_PER_MINUTE"


def rate_limit_per_minute(spec, env=os.environ) -> int | None:
    """The topology's per-caller budget, unless a local or emulator run sets SPORTSFLOW_RATE_LIMIT_PER_MINUTE
    (0 turns it off: a load test whose clients all share the one development identity). Never on gcp,
    where every caller is its own verified identity and the topology's budget is the deployed one."""
    override = env.get(RATE_LIMIT_ENV, "").strip()
    if not override or env.get("SPORTSFLOW_BACKEND", "local") == "gcp":
        return spec.rate_limit_per_minute
    if not (override.isascii() and override.isdigit()):
        raise ValueError(f"{RATE_LIMIT_ENV}={override!r} is not a whole number of requests a minute (0 turns it off)")
    return int(override) or None
