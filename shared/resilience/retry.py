"""Retries for provider requests, built with tenacity from a `RetryPolicy`.

Only transient failures are retried: network errors, timeouts, the server dropping the
connection, and 5xx responses (raised as `httpx.HTTPStatusError` by the attempt). A 4xx is
never retried — the same request would be rejected again. Waits come from the policy
exactly (0.5 s, then 1.0 s), with no jitter, so the numbers in SPEC are the numbers on the wire.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import httpx
import tenacity

from shared.resilience.policy import RetryPolicy
from shared.resilience.redaction import redacted_text

log = logging.getLogger("sportsflow.resilience")

# TransportError minus the ones that are our own bug (bad URL scheme, malformed request):
# those fail the same way every time.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[httpx.TransportError], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
    httpx.ProxyError,
)


def is_server_error(status_code: int) -> bool:
    return 500 <= status_code <= 599


def is_retryable(error: BaseException) -> bool:
    if isinstance(error, httpx.HTTPStatusError):
        return is_server_error(error.response.status_code)
    return isinstance(error, RETRYABLE_TRANSPORT_ERRORS)


def describe_failure(error: BaseException) -> str:
    """A short human reason for logs and error messages ("HTTP 503", "ReadTimeout: timed out")."""
    if isinstance(error, httpx.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    return f"{type(error).__name__}: {redacted_text(str(error), 200)}" if str(error) else type(error).__name__


def backoff_wait(policy: RetryPolicy) -> tenacity.wait.wait_base:
    """Wait `backoff_seconds[i]` before retry i+1 (tenacity's wait_chain indexes by attempt number)."""
    if not policy.backoff_seconds:
        return tenacity.wait_none()
    return tenacity.wait_chain(*(tenacity.wait_fixed(seconds) for seconds in policy.backoff_seconds))


def build_retrying(
    policy: RetryPolicy,
    *,
    provider: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """A tenacity `Retrying` for one provider call; re-raises the last error when attempts run out."""

    def log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "provider.http.retry",
            extra={
                "fields": {
                    "provider": provider,
                    "attempt": state.attempt_number,
                    "max_attempts": policy.max_attempts,
                    "wait_seconds": state.next_action.sleep if state.next_action else None,
                    "reason": describe_failure(error) if error else None,
                }
            },
        )

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_retryable),
        stop=tenacity.stop_after_attempt(policy.max_attempts),
        wait=backoff_wait(policy),
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
