"""`ProviderClient`: every call to a sports data provider goes through here (SPEC §3).

One call, in order:

1. circuit breaker: open → `CircuitOpenError` at once, without waiting for a rate-limit slot
   (a call that will fail fast should neither wait nor spend a slot); half-open → only the
   single probe proceeds.
2. per attempt: a rate-limit token (every attempt is a real request to the provider, so
   retries spend tokens too), then the request with the policy's timeout.
3. retries on network errors, timeouts and 5xx only: 0.5 s, then 1.0 s, 3 attempts at most.
   The half-open probe is a single request, no retries: SPEC lets "one probe through".
4. the outcome goes to the breaker once per *call*: a call that exhausted its retries is one
   failure. SPEC's "5 consecutive failures" then means five calls the caller saw fail — each
   already retried — rather than five attempts, which a single call's retries (up to 3) would
   nearly reach alone. A 4xx or a non-JSON 2xx means the provider is up and answering, so it
   counts as a success for the breaker (it must not trip on our own bad requests).
5. errors become a typed `ProviderError`: `ProviderUnavailable` (5xx/timeouts/network after
   retries), `ProviderRejected` (4xx, not retried), `ProviderResponseInvalid` (body is not
   JSON, not retried), `CircuitOpenError`, `RateLimitExceeded`.

Breaker and rate limiter are shared per provider name through a `ProviderRegistry`: by
default the process-wide one. Passing `clock` or `sleep` (tests) without a `registry` gives the
client private guards built on that clock, so tests never leak state into each other.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Mapping

import httpx

from shared.resilience.circuit_breaker import CircuitBreaker, Permit
from shared.resilience.errors import (
    ProviderRedirectRefused,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from shared.resilience.policy import DEFAULT_POLICY, ProviderPolicy, RetryPolicy
from shared.resilience.rate_limit import TokenBucket
from shared.resilience.redaction import redact_http_client_logs, redacted_url
from shared.resilience.registry import ProviderRegistry, process_registry
from shared.resilience.retry import build_retrying, describe_failure, is_retryable, is_server_error

log = logging.getLogger("sportsflow.resilience")
redact_http_client_logs()

_EXCERPT_CHARS = 200
NO_RETRIES = RetryPolicy(backoff_seconds=())


class ProviderClient:
    """GETs from one provider through its breaker, rate limiter, timeout and retries.

    `transport` swaps the HTTP transport (e.g. `httpx.MockTransport`). `sleep` is used for
    retry backoff and rate-limit waits. Guards: from `registry` if given (its clock applies);
    otherwise the process-wide registry, unless `clock`/`sleep` are passed, which gives this
    client private guards on that clock (tests). Thread-safe: one client may serve many threads.
    Non-retryable httpx errors that are our own bug (unsupported scheme, malformed request)
    are raised unchanged.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        *,
        policy: ProviderPolicy = DEFAULT_POLICY,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        registry: ProviderRegistry | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self._sleep = sleep or time.sleep
        if registry is None:
            registry = process_registry() if clock is None and sleep is None else ProviderRegistry(
                clock=clock or time.monotonic, sleep=self._sleep
            )
        guards = registry.guards(name, policy)
        self.breaker: CircuitBreaker = guards.breaker
        self.rate_limiter: TokenBucket = guards.rate_limiter
        self._host = httpx.URL(base_url).host
        self._http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(policy.timeout_seconds),
            transport=transport,
            follow_redirects=True,  # each hop is checked by _same_host_only
            headers=headers,
            event_hooks={"request": [self._same_host_only]},
        )

    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """A 2xx response, or a `ProviderError` subclass saying what happened."""
        permit = self.breaker.acquire()
        attempts = 0

        def attempt() -> httpx.Response:
            nonlocal attempts
            attempts += 1
            self.rate_limiter.acquire()
            response = self._http.get(path, params=params, headers=headers)
            response.raise_for_status()  # non-2xx → HTTPStatusError; the retry predicate keeps 5xx only
            return response

        try:
            response = build_retrying(self._retry_policy(permit), provider=self.name, sleep=self._sleep)(attempt)
        except httpx.HTTPStatusError as error:
            raise self._status_error(permit, error, attempts) from error
        except httpx.TransportError as error:
            if not is_retryable(error):  # our own malformed request, not the provider's fault
                permit.abandon()
                raise
            raise self._unavailable(permit, path, error, attempts) from error
        except BaseException:
            permit.abandon()
            raise
        permit.record_success()
        return response

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 headers: Mapping[str, str] | None = None) -> Any:
        response = self.get(path, params, headers={"Accept": "application/json", **(headers or {})})
        try:
            return response.json()
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are both ValueErrors
            raise ProviderResponseInvalid(
                self.name, redacted_url(response.request.url), str(error), response.text[:_EXCERPT_CHARS]
            ) from error

    def close(self) -> None:
        self._http.close()

    def _same_host_only(self, request: httpx.Request) -> None:
        """Redirects stay on the provider's own host: credentials and our requests go nowhere else."""
        if request.url.host != self._host:
            log.warning("provider.http.redirect_refused",
                        extra={"fields": {"provider": self.name, "to_host": request.url.host[:100]}})
            raise ProviderRedirectRefused(self.name, request.url.host)

    def __enter__(self) -> ProviderClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _retry_policy(self, permit: Permit) -> RetryPolicy:
        # A half-open probe is one request: its job is to test the provider, not to lean on it.
        return NO_RETRIES if permit.is_probe else self.policy.retry

    def _status_error(self, permit: Permit, error: httpx.HTTPStatusError, attempts: int) -> Exception:
        response = error.response
        if is_server_error(response.status_code):
            return self._unavailable(permit, response.request.url.path, error, attempts)
        permit.record_success()  # the provider is up; it refused this request
        url = redacted_url(response.request.url)
        log.warning(
            "provider.http.rejected",
            extra={"fields": {"provider": self.name, "status_code": response.status_code, "url": url}},
        )
        return ProviderRejected(self.name, response.status_code, url, response.text[:_EXCERPT_CHARS])

    def _unavailable(self, permit: Permit, path: str, error: BaseException, attempts: int) -> ProviderUnavailable:
        permit.record_failure()
        reason = describe_failure(error)
        log.error(
            "provider.http.fail",
            extra={"fields": {"provider": self.name, "path": path, "attempts": attempts, "reason": reason}},
        )
        return ProviderUnavailable(self.name, attempts, reason)


def provider_client(
    name: str, base_url: str, *, policy: ProviderPolicy = DEFAULT_POLICY, **kwargs: Any
) -> ProviderClient:
    """A client sharing its breaker and rate limiter with every other client of `name` in this process."""
    return ProviderClient(name, base_url, policy=policy, registry=process_registry(), **kwargs)
