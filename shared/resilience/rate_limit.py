"""A per-provider token bucket: at most `requests_per_second` on average, bursts up to `burst`.

Choice: a caller *blocks* until its slot comes, but only up to `max_wait_seconds`; if its slot
is further away than that it gets `RateLimitExceeded` at once (no point waiting only to fail).
Slots are reserved under the lock — the balance may go negative, meaning "promised to callers
already waiting" — and the sleep happens outside it, so concurrent callers queue fairly in
arrival order without busy-waiting. Clock and sleep are injectable for tests.
"""
from __future__ import annotations

import threading
import time
from typing import Callable

from shared.resilience.errors import RateLimitExceeded
from shared.resilience.policy import RateLimitPolicy


class TokenBucket:
    def __init__(
        self,
        provider: str,
        policy: RateLimitPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.policy = policy or RateLimitPolicy()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(self.policy.burst)
        self._refilled_at = clock()

    @property
    def available_tokens(self) -> float:
        """Tokens in the bucket now; negative when callers are already waiting for future slots."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens

    def acquire(self) -> float:
        """Take one token, sleeping until it exists; returns the seconds waited.

        Raises `RateLimitExceeded` (without waiting or taking a token) when the wait would
        exceed the policy's `max_wait_seconds`.
        """
        with self._lock:
            self._refill(self._clock())
            wait = self._wait_for_next_token()
            if wait > self.policy.max_wait_seconds:
                raise RateLimitExceeded(self.provider, wait, self.policy.max_wait_seconds)
            self._tokens -= 1.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._refilled_at)
        self._tokens = min(float(self.policy.burst), self._tokens + elapsed * self.policy.requests_per_second)
        self._refilled_at = now

    def _wait_for_next_token(self) -> float:
        if self._tokens >= 1.0:
            return 0.0
        return (1.0 - self._tokens) / self.policy.requests_per_second
