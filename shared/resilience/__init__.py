"""Resilient provider calls: timeout, retries, circuit breaker and rate limit, from SPEC §3.

    from shared.resilience import provider_client

    espn = provider_client("espn", "https://site.api.espn.com")
    scoreboard = espn.get_json("/apis/site/v2/sports/baseball/mlb/scoreboard", {"dates": "20240601"})

Errors are `ProviderError` subclasses that say whether waiting helps. The numbers live in
`policy.py`; each piece (retry, circuit_breaker, rate_limit) also works alone.
"""
from shared.resilience.circuit_breaker import BreakerSnapshot, BreakerState, CircuitBreaker, Permit
from shared.resilience.errors import (
    CircuitOpenError,
    ProviderError,
    ProviderRedirectRefused,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
    RateLimitExceeded,
)
from shared.resilience.policy import DEFAULT_POLICY, BreakerPolicy, ProviderPolicy, RateLimitPolicy, RetryPolicy
from shared.resilience.provider_client import ProviderClient, provider_client
from shared.resilience.rate_limit import TokenBucket
from shared.resilience.registry import ProviderGuards, ProviderRegistry, process_registry
from shared.resilience.retry import build_retrying, is_retryable

__all__ = [
    "DEFAULT_POLICY",
    "BreakerPolicy",
    "BreakerSnapshot",
    "BreakerState",
    "CircuitBreaker",
    "CircuitOpenError",
    "Permit",
    "ProviderClient",
    "ProviderError",
    "ProviderGuards",
    "ProviderPolicy",
    "ProviderRedirectRefused",
    "ProviderRegistry",
    "ProviderRejected",
    "ProviderResponseInvalid",
    "ProviderUnavailable",
    "RateLimitExceeded",
    "RateLimitPolicy",
    "RetryPolicy",
    "TokenBucket",
    "build_retrying",
    "is_retryable",
    "process_registry",
    "provider_client",
]
