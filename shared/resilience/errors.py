"""What can go wrong when calling a provider, each error saying what happened and what to do next.

Callers catch `ProviderError` for "the provider did not give us data"; the subclasses tell
them whether waiting helps (`ProviderUnavailable`, `CircuitOpenError`, `RateLimitExceeded`)
or not (`ProviderRejected`, `ProviderResponseInvalid`).
"""
from __future__ import annotations


class ProviderError(Exception):
    """A provider call did not produce usable data."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(message)
        self.provider = provider


class ProviderUnavailable(ProviderError):
    """Network error, timeout or 5xx on every attempt: the provider is down or overloaded.

    Retrying later may work; the circuit breaker counted this call as one failure.
    """

    def __init__(self, provider: str, attempts: int, cause: str) -> None:
        super().__init__(
            provider,
            f"provider '{provider}' unavailable after {attempts} attempt(s): {cause}. "
            "Try again later, or fall back to another source; repeated failures open its circuit breaker.",
        )
        self.attempts = attempts
        self.cause = cause


class ProviderRejected(ProviderError):
    """The provider answered 4xx (or another non-success, non-5xx status): our request is wrong.

    Not retried: the same request would be rejected again. Fix the request (path, params,
    credentials, quota) instead.
    """

    def __init__(self, provider: str, status_code: int, url: str, body_excerpt: str) -> None:
        super().__init__(
            provider,
            f"provider '{provider}' rejected GET {url} with HTTP {status_code}. "
            "Not retried; check the path, parameters, credentials or quota.",
        )
        self.body_excerpt = body_excerpt  # the provider's own words: for a debugger, never in messages
        self.status_code = status_code
        self.url = url


class ProviderResponseInvalid(ProviderError):
    """The provider answered 2xx but the body is not the JSON we asked for. Not retried."""

    def __init__(self, provider: str, url: str, reason: str, body_excerpt: str) -> None:
        super().__init__(
            provider,
            f"provider '{provider}' returned a body that is not valid JSON for GET {url}. "
            "Not retried; the provider's format may have changed — inspect the payload.",
        )
        self.reason = reason
        self.body_excerpt = body_excerpt
        self.url = url


class ProviderRedirectRefused(ProviderError):
    """The provider redirected to another host. Not followed, not retried."""

    def __init__(self, provider: str, host: str) -> None:
        super().__init__(
            provider,
            f"provider '{provider}' redirected to another host ({host[:100]}); not followed. "
            "Check the provider URL setting: redirects are followed only on the provider's own host.",
        )
        self.host = host


class CircuitOpenError(ProviderError):
    """The provider's circuit breaker is open (or its single half-open probe is busy): failing fast."""

    def __init__(self, provider: str, seconds_until_half_open: float, probe_in_flight: bool = False) -> None:
        if probe_in_flight:
            detail = "is half-open and its one probe request is already in flight"
            advice = "retry once the probe finishes"
        else:
            detail = "is open after repeated failures"
            advice = f"it lets one probe through in {seconds_until_half_open:.1f} s"
        super().__init__(provider, f"provider '{provider}' circuit {detail}; failing fast without calling it — {advice}.")
        self.seconds_until_half_open = seconds_until_half_open
        self.probe_in_flight = probe_in_flight


class RateLimitExceeded(ProviderError):
    """No rate-limit token within the allowed wait: the process is calling this provider too often."""

    def __init__(self, provider: str, wait_needed: float, max_wait: float) -> None:
        super().__init__(
            provider,
            f"provider '{provider}' rate limit: the next request slot is {wait_needed:.2f} s away, "
            f"more than the {max_wait:.2f} s we may wait. Spread the calls out or raise the provider's rate limit.",
        )
        self.wait_needed = wait_needed
        self.max_wait = max_wait
