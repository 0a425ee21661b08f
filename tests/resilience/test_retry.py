"""The retry predicate and the tenacity Retrying built from the policy, alone (no HTTP server)."""
from __future__ import annotations

import logging

import httpx
import pytest

from shared.resilience import DEFAULT_POLICY, RetryPolicy, build_retrying, is_retryable

from .fake_time import SleepRecorder

REQUEST = httpx.Request("GET", "http://provider.test/scoreboard")


def status_error(status: int) -> httpx.HTTPStatusError:
    response = httpx.Response(status, request=REQUEST)
    return httpx.HTTPStatusError(f"HTTP {status}", request=REQUEST, response=response)


class FailingThen:
    """Raises the given errors in order, then returns "ok"; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("refused", request=REQUEST),
        httpx.ConnectTimeout("connect timed out", request=REQUEST),
        httpx.ReadTimeout("read timed out", request=REQUEST),
        httpx.ReadError("reset", request=REQUEST),
        httpx.RemoteProtocolError("server disconnected", request=REQUEST),
        status_error(500),
        status_error(502),
        status_error(503),
        status_error(599),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.response.status_code}" if isinstance(e, httpx.HTTPStatusError) else ""),
)
def test_transient_failures_are_retryable(error: BaseException) -> None:
    assert is_retryable(error)


@pytest.mark.parametrize(
    "error",
    [
        status_error(400),
        status_error(401),
        status_error(403),
        status_error(404),
        status_error(429),
        httpx.UnsupportedProtocol("ftp://", request=REQUEST),
        httpx.LocalProtocolError("bad header", request=REQUEST),
        ValueError("not http"),
    ],
    ids=lambda e: type(e).__name__ + (f"-{e.response.status_code}" if isinstance(e, httpx.HTTPStatusError) else ""),
)
def test_client_errors_and_our_own_bugs_are_not_retryable(error: BaseException) -> None:
    assert not is_retryable(error)


def test_default_policy_is_two_retries_waiting_half_a_second_then_one() -> None:
    assert DEFAULT_POLICY.retry.backoff_seconds == (0.5, 1.0)
    assert DEFAULT_POLICY.retry.max_retries == 2
    assert DEFAULT_POLICY.retry.max_attempts == 3


def test_two_server_errors_then_success_waits_exactly_the_backoff(sleeps: SleepRecorder) -> None:
    call = FailingThen(status_error(500), status_error(503))
    result = build_retrying(RetryPolicy(), provider="espn", sleep=sleeps)(call)
    assert result == "ok"
    assert call.calls == 3
    assert sleeps.waits == [0.5, 1.0]


def test_gives_up_after_three_attempts_and_reraises_the_last_error(sleeps: SleepRecorder) -> None:
    last = httpx.ReadTimeout("third", request=REQUEST)
    call = FailingThen(status_error(500), httpx.ConnectError("second", request=REQUEST), last, status_error(500))
    with pytest.raises(httpx.ReadTimeout) as raised:
        build_retrying(RetryPolicy(), provider="espn", sleep=sleeps)(call)
    assert raised.value is last
    assert call.calls == 3
    assert sleeps.waits == [0.5, 1.0]


def test_client_error_is_raised_at_once(sleeps: SleepRecorder) -> None:
    call = FailingThen(status_error(404))
    with pytest.raises(httpx.HTTPStatusError):
        build_retrying(RetryPolicy(), provider="espn", sleep=sleeps)(call)
    assert call.calls == 1
    assert sleeps.waits == []


def test_a_policy_without_backoff_makes_one_attempt(sleeps: SleepRecorder) -> None:
    call = FailingThen(status_error(500))
    with pytest.raises(httpx.HTTPStatusError):
        build_retrying(RetryPolicy(backoff_seconds=()), provider="espn", sleep=sleeps)(call)
    assert call.calls == 1


def test_each_retry_is_logged_with_attempt_wait_and_reason(sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture) -> None:
    call = FailingThen(status_error(502), httpx.ConnectError("refused", request=REQUEST))
    with caplog.at_level(logging.WARNING, logger="sportsflow.resilience"):
        build_retrying(RetryPolicy(), provider="mlb", sleep=sleeps)(call)
    retries = [r for r in caplog.records if r.getMessage() == "provider.http.retry"]
    assert [r.fields for r in retries] == [
        {"provider": "mlb", "attempt": 1, "max_attempts": 3, "wait_seconds": 0.5, "reason": "HTTP 502"},
        {"provider": "mlb", "attempt": 2, "max_attempts": 3, "wait_seconds": 1.0, "reason": "ConnectError: refused"},
    ]


def test_negative_backoff_is_refused() -> None:
    with pytest.raises(ValueError, match="backoff_seconds"):
        RetryPolicy(backoff_seconds=(0.5, -1.0))
