"""One circuit breaker and one rate limiter per provider per process.

Every `ProviderClient` for "espn" in this process must see the same failures and draw from
the same request budget, whichever module built it; this registry is where they live.
`process_registry()` is the shared one; tests build their own with a fake clock.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

from shared.resilience.circuit_breaker import BreakerSnapshot, CircuitBreaker
from shared.resilience.policy import DEFAULT_POLICY, ProviderPolicy
from shared.resilience.rate_limit import TokenBucket


@dataclass(frozen=True)
class ProviderGuards:
    breaker: CircuitBreaker
    rate_limiter: TokenBucket


class ProviderRegistry:
    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._guards: dict[str, ProviderGuards] = {}

    def guards(self, provider: str, policy: ProviderPolicy = DEFAULT_POLICY) -> ProviderGuards:
        """The provider's shared guards, created on first use with `policy`.

        Asking again with a different breaker or rate-limit policy is a configuration
        mistake (two parts of the code disagree about the provider) and raises ValueError.
        """
        with self._lock:
            existing = self._guards.get(provider)
            if existing is None:
                existing = self._guards[provider] = self._build(provider, policy)
        if existing.breaker.policy != policy.breaker or existing.rate_limiter.policy != policy.rate_limit:
            raise ValueError(
                f"provider '{provider}' already has guards with {existing.breaker.policy} and "
                f"{existing.rate_limiter.policy}; got {policy.breaker} and {policy.rate_limit}. "
                "Use one policy per provider."
            )
        return existing

    def snapshots(self) -> list[BreakerSnapshot]:
        """Every known provider's breaker state, for health checks and metrics."""
        with self._lock:
            guards = list(self._guards.values())
        return [g.breaker.snapshot() for g in guards]

    def _build(self, provider: str, policy: ProviderPolicy) -> ProviderGuards:
        return ProviderGuards(
            breaker=CircuitBreaker(provider, policy.breaker, clock=self._clock),
            rate_limiter=TokenBucket(provider, policy.rate_limit, clock=self._clock, sleep=self._sleep),
        )


_PROCESS_REGISTRY = ProviderRegistry()


def process_registry() -> ProviderRegistry:
    return _PROCESS_REGISTRY
