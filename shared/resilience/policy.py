"""The named resilience numbers for provider calls, in one place (SPEC §3).

    timeout            5 s per request
    retries            at most 2, waiting 500 ms then 1000 ms; only network errors, timeouts, 5xx
    circuit breaker    opens after 5 consecutive failures within 60 s, stays open 120 s,
                       then lets exactly one half-open probe through
    rate limit         per provider (our choice; SPEC gives no number): 10 requests/s, burst 10,
                       wait at most 5 s for a slot

Each part is a small frozen object so a provider or a test can override one number with
`dataclasses.replace` (or the `with_*` helpers) and keep the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class RetryPolicy:
    """One wait per retry: `backoff_seconds=(0.5, 1.0)` means at most 2 retries, 3 attempts in total."""

    backoff_seconds: tuple[float, ...] = (0.5, 1.0)

    def __post_init__(self) -> None:
        _require(all(w >= 0 for w in self.backoff_seconds), f"backoff_seconds must be >= 0, got {self.backoff_seconds}")

    @property
    def max_retries(self) -> int:
        return len(self.backoff_seconds)

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1


@dataclass(frozen=True)
class BreakerPolicy:
    failure_threshold: int = 5
    window_seconds: float = 60.0
    open_seconds: float = 120.0

    def __post_init__(self) -> None:
        _require(self.failure_threshold >= 1, f"failure_threshold must be >= 1, got {self.failure_threshold}")
        _require(self.window_seconds > 0, f"window_seconds must be > 0, got {self.window_seconds}")
        _require(self.open_seconds >= 0, f"open_seconds must be >= 0, got {self.open_seconds}")


@dataclass(frozen=True)
class RateLimitPolicy:
    """Token bucket: refills `requests_per_second`, holds at most `burst`; a caller waits up to `max_wait_seconds`."""

    requests_per_second: float = 10.0
    burst: int = 10
    max_wait_seconds: float = 5.0

    def __post_init__(self) -> None:
        _require(self.requests_per_second > 0, f"requests_per_second must be > 0, got {self.requests_per_second}")
        _require(self.burst >= 1, f"burst must be >= 1, got {self.burst}")
        _require(self.max_wait_seconds >= 0, f"max_wait_seconds must be >= 0, got {self.max_wait_seconds}")


@dataclass(frozen=True)
class ProviderPolicy:
    timeout_seconds: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    rate_limit: RateLimitPolicy = field(default_factory=RateLimitPolicy)

    def __post_init__(self) -> None:
        _require(self.timeout_seconds > 0, f"timeout_seconds must be > 0, got {self.timeout_seconds}")

    def with_timeout(self, seconds: float) -> ProviderPolicy:
        return replace(self, timeout_seconds=seconds)

    def with_retry(self, retry: RetryPolicy) -> ProviderPolicy:
        return replace(self, retry=retry)

    def with_breaker(self, breaker: BreakerPolicy) -> ProviderPolicy:
        return replace(self, breaker=breaker)

    def with_rate_limit(self, rate_limit: RateLimitPolicy) -> ProviderPolicy:
        return replace(self, rate_limit=rate_limit)


DEFAULT_POLICY = ProviderPolicy()
