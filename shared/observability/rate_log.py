"""One aggregated INFO line for events too frequent to log one by one (a push stream, a read API).

A `RateLog` counts events by kind and logs every `every_events` events or `every_seconds`
seconds, whichever comes first: how many since the last line, over what window, the rate and
the counts by kind. Lines carry the caller's `fields` (e.g. which source or function)."""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from typing import Any, Callable

EVERY_EVENTS = 100
EVERY_SECONDS = 30.0


class RateLog:
    def __init__(self, logger: logging.Logger, message: str, *, counts_field: str = "counts",
                 every_events: int = EVERY_EVENTS, every_seconds: float = EVERY_SECONDS,
                 clock: Callable[[], float] = time.monotonic, **fields: Any):
        self.logger, self.message, self.counts_field, self.fields = logger, message, counts_field, fields
        self.every_events, self.every_seconds, self._clock = every_events, every_seconds, clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._since = clock()
        self.totals: Counter[str] = Counter()

    def record(self, kind: str) -> None:
        with self._lock:
            self._counts[kind] += 1
            self.totals[kind] += 1
            window = self._clock() - self._since
            if sum(self._counts.values()) < self.every_events and window < self.every_seconds:
                return
            counts, self._counts, self._since = dict(self._counts), Counter(), self._clock()
        total = sum(counts.values())
        self.logger.info(self.message, extra={"fields": {
            **self.fields, "messages_since_last": total, "window_sec": round(window, 3),
            "per_second": round(total / window, 2) if window > 0 else None, self.counts_field: counts}})
