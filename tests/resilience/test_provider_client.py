"""ProviderClient against a real local HTTP server that fails on command.

Waits are asserted through an injected sleep recorder (never wall time); the breaker runs on
the same fake clock, so "120 s later" is one `clock.advance(120)`.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import httpx
import pytest

from shared.resilience import (
    DEFAULT_POLICY,
    BreakerState,
    CircuitOpenError,
    ProviderClient,
    ProviderPolicy,
    ProviderRegistry,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
    RateLimitExceeded,
    RateLimitPolicy,
    process_registry,
    provider_client,
)

from .fake_provider import Drop, FakeProvider, Held, Respond, Slow, hang, refused_url
from .fake_time import FakeClock, SleepRecorder

SHORT_TIMEOUT = DEFAULT_POLICY.with_timeout(0.2)  # keeps the timeout tests fast


def client_for(url: str, clock: FakeClock, sleeps: SleepRecorder, policy: ProviderPolicy = DEFAULT_POLICY) -> ProviderClient:
    return ProviderClient("espn", url, policy=policy, clock=clock, sleep=sleeps)


@pytest.fixture
def espn(provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder) -> Any:
    with client_for(provider.url, clock, sleeps) as client:
        yield client


def fail_calls(client: ProviderClient, count: int) -> None:
    for _ in range(count):
        with pytest.raises(ProviderUnavailable):
            client.get_json("/scoreboard")


# --- timeout -----------------------------------------------------------------------------


def test_default_policy_times_out_after_five_seconds(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    assert DEFAULT_POLICY.timeout_seconds == 5.0
    with client_for(provider.url, clock, sleeps) as client:
        assert client._http.timeout == httpx.Timeout(5.0)


def test_a_request_past_the_timeout_is_retried_then_reported_unavailable(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    provider.always(hang(5.0))
    with client_for(provider.url, clock, sleeps, SHORT_TIMEOUT) as client:
        with pytest.raises(ProviderUnavailable) as raised:
            client.get_json("/scoreboard")
    assert provider.request_count == 3
    assert sleeps.waits == [0.5, 1.0]
    assert raised.value.attempts == 3 and "ReadTimeout" in raised.value.cause
    assert "'espn'" in str(raised.value) and "3 attempt(s)" in str(raised.value)


def test_a_slow_answer_within_the_timeout_is_not_retried(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    provider.then(Slow(0.05, Respond(200, {"games": 3})))
    with client_for(provider.url, clock, sleeps, DEFAULT_POLICY.with_timeout(2.0)) as client:
        assert client.get_json("/scoreboard") == {"games": 3}
    assert provider.request_count == 1 and sleeps.waits == []


# --- retries -----------------------------------------------------------------------------


def test_two_server_errors_then_success_takes_three_requests_and_the_backoff(
    provider: FakeProvider, espn: ProviderClient, sleeps: SleepRecorder
) -> None:
    provider.then(Respond(500), Respond(503), Respond(200, {"games": [1, 2]}))
    assert espn.get_json("/scoreboard", {"date": "2024-06-01"}) == {"games": [1, 2]}
    assert provider.request_count == 3
    assert provider.paths == ["/scoreboard?date=2024-06-01"] * 3
    assert sleeps.waits == [0.5, 1.0]
    assert espn.breaker.snapshot().consecutive_failures == 0


def test_three_server_errors_is_one_unavailable_call(
    provider: FakeProvider, espn: ProviderClient, sleeps: SleepRecorder
) -> None:
    provider.fail_then_succeed(3, status=502)
    with pytest.raises(ProviderUnavailable) as raised:
        espn.get_json("/scoreboard")
    assert raised.value.cause == "HTTP 502"
    assert provider.request_count == 3 and sleeps.waits == [0.5, 1.0]
    assert espn.breaker.snapshot().consecutive_failures == 1  # one per call, not per attempt


@pytest.mark.parametrize("status", [400, 401, 404, 429])
def test_a_client_error_is_not_retried(
    provider: FakeProvider, espn: ProviderClient, sleeps: SleepRecorder, status: int
) -> None:
    provider.then(Respond(status, {"error": "nope"}))
    with pytest.raises(ProviderRejected) as raised:
        espn.get_json("/players", {"api_key": "secret"})
    assert raised.value.status_code == status
    assert provider.request_count == 1 and sleeps.waits == []
    assert "secret" not in str(raised.value) and "/players" in str(raised.value)
    assert espn.breaker.snapshot().consecutive_failures == 0


def test_connection_refused_is_retried(clock: FakeClock, sleeps: SleepRecorder) -> None:
    with client_for(refused_url(), clock, sleeps) as client:
        with pytest.raises(ProviderUnavailable) as raised:
            client.get_json("/scoreboard")
    assert raised.value.attempts == 3 and "ConnectError" in raised.value.cause
    assert sleeps.waits == [0.5, 1.0]


def test_a_dropped_connection_is_retried(provider: FakeProvider, espn: ProviderClient, sleeps: SleepRecorder) -> None:
    provider.then(Drop(), Respond(200, {"ok": 1}))
    assert espn.get_json("/scoreboard") == {"ok": 1}
    assert provider.request_count == 2 and sleeps.waits == [0.5]


def test_a_body_that_is_not_json_is_a_clear_error_and_not_retried(provider: FakeProvider, espn: ProviderClient) -> None:
    provider.then(Respond(200, "<html>maintenance</html>"))
    with pytest.raises(ProviderResponseInvalid) as raised:
        espn.get_json("/scoreboard")
    assert "not valid JSON" in str(raised.value)
    assert "<html>maintenance" not in str(raised.value)  # upstream text never in messages (issue #11)
    assert raised.value.body_excerpt.startswith("<html>maintenance")
    assert provider.request_count == 1
    assert espn.breaker.snapshot().consecutive_failures == 0


def test_get_returns_the_raw_response(provider: FakeProvider, espn: ProviderClient) -> None:
    provider.then(Respond(200, "plain text"))
    response = espn.get("/feed")
    assert response.status_code == 200 and response.text == "plain text"


# --- circuit breaker -----------------------------------------------------------------------


def test_five_failing_calls_open_the_circuit_and_then_it_fails_fast_without_calling(
    provider: FakeProvider, espn: ProviderClient
) -> None:
    provider.always(Respond(500))
    fail_calls(espn, 4)
    assert espn.breaker.state is BreakerState.CLOSED
    fail_calls(espn, 1)
    assert espn.breaker.state is BreakerState.OPEN
    requests_before = provider.request_count
    assert requests_before == 15
    with pytest.raises(CircuitOpenError) as raised:
        espn.get_json("/scoreboard")
    assert provider.request_count == requests_before
    assert raised.value.provider == "espn"
    assert 0 < raised.value.seconds_until_half_open <= 120


def test_failing_calls_spread_over_more_than_sixty_seconds_do_not_open_it(
    provider: FakeProvider, espn: ProviderClient, clock: FakeClock
) -> None:
    provider.always(Respond(500))
    for _ in range(6):
        fail_calls(espn, 1)
        clock.advance(15)  # plus 1.5 s of backoff per call: 16.5 s apart, only 4 fit in 60 s
    assert espn.breaker.state is BreakerState.CLOSED


def test_after_the_open_period_one_probe_goes_through_and_concurrent_calls_fail_fast(
    provider: FakeProvider, espn: ProviderClient, clock: FakeClock
) -> None:
    provider.always(Respond(500))
    fail_calls(espn, 5)
    clock.advance(120)
    provider.always(Respond())
    provider.then(Held(Respond(200, {"probe": "ok"})))
    requests_before = provider.request_count
    probe_result: list[Any] = []
    probe = threading.Thread(target=lambda: probe_result.append(espn.get_json("/scoreboard")))
    probe.start()
    try:
        assert provider.wait_for_requests(requests_before + 1)
        with pytest.raises(CircuitOpenError) as raised:
            espn.get_json("/scoreboard")
        assert raised.value.probe_in_flight
        assert provider.request_count == requests_before + 1
    finally:
        provider.release()
        probe.join(timeout=5)
    assert probe_result == [{"probe": "ok"}]
    assert espn.breaker.state is BreakerState.CLOSED
    assert espn.get_json("/scoreboard") == {"ok": True}


def test_a_failed_probe_is_one_request_and_reopens_the_circuit(
    provider: FakeProvider, espn: ProviderClient, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    provider.always(Respond(503))
    fail_calls(espn, 5)
    clock.advance(120)
    requests_before, waits_before = provider.request_count, len(sleeps.waits)
    with pytest.raises(ProviderUnavailable) as raised:
        espn.get_json("/scoreboard")
    assert raised.value.attempts == 1
    assert provider.request_count == requests_before + 1 and len(sleeps.waits) == waits_before
    assert espn.breaker.state is BreakerState.OPEN
    assert espn.breaker.seconds_until_half_open == 120.0
    with pytest.raises(CircuitOpenError):
        espn.get_json("/scoreboard")
    assert provider.request_count == requests_before + 1


def test_breaker_transitions_and_failures_are_logged(
    provider: FakeProvider, espn: ProviderClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    provider.always(Respond(500))
    with caplog.at_level(logging.INFO, logger="sportsflow.resilience"):
        fail_calls(espn, 5)
        clock.advance(120)
        provider.always(Respond())
        espn.get_json("/scoreboard")
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("provider.http.retry") == 10
    assert messages.count("provider.http.fail") == 5
    transitions = [
        (r.fields["from_state"], r.fields["to_state"])
        for r in caplog.records
        if r.getMessage().startswith("provider.circuit.")
    ]
    assert transitions == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    fail = next(r for r in caplog.records if r.getMessage() == "provider.http.fail")
    assert fail.levelname == "ERROR"
    assert fail.fields == {"provider": "espn", "path": "/scoreboard", "attempts": 3, "reason": "HTTP 500"}


# --- rate limit and ordering ---------------------------------------------------------------


def test_every_attempt_takes_a_rate_limit_token(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    policy = DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=1, burst=3, max_wait_seconds=0))
    provider.then(Respond(500), Respond(500))
    with client_for(provider.url, clock, sleeps, policy) as client:
        client.get_json("/scoreboard")  # three attempts; the 1.5 s of backoff refill 1.5 tokens
        assert client.rate_limiter.available_tokens == pytest.approx(1.5)


def test_an_exhausted_rate_limit_fails_without_calling_or_counting_against_the_provider(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    policy = DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=1, burst=1, max_wait_seconds=0.5))
    with client_for(provider.url, clock, sleeps, policy) as client:
        client.get_json("/scoreboard")
        with pytest.raises(RateLimitExceeded):
            client.get_json("/scoreboard")
        assert provider.request_count == 1
        assert client.breaker.snapshot().consecutive_failures == 0


def test_an_open_circuit_fails_fast_before_spending_a_rate_limit_token(provider: FakeProvider, espn: ProviderClient) -> None:
    provider.always(Respond(500))
    fail_calls(espn, 5)
    tokens = espn.rate_limiter.available_tokens
    with pytest.raises(CircuitOpenError):
        espn.get_json("/scoreboard")
    assert espn.rate_limiter.available_tokens == tokens


# --- one breaker and rate limiter per provider -----------------------------------------------


def test_clients_of_one_provider_share_a_breaker_and_rate_limiter(
    provider: FakeProvider, clock: FakeClock, sleeps: SleepRecorder
) -> None:
    registry = ProviderRegistry(clock=clock, sleep=sleeps)
    provider.always(Respond(500))
    with ProviderClient("mlb", provider.url, registry=registry, sleep=sleeps) as scraper, \
         ProviderClient("mlb", provider.url, registry=registry, sleep=sleeps) as validator, \
         ProviderClient("espn", provider.url, registry=registry, sleep=sleeps) as other:
        assert scraper.breaker is validator.breaker and scraper.rate_limiter is validator.rate_limiter
        assert other.breaker is not scraper.breaker
        fail_calls(scraper, 3)
        fail_calls(validator, 2)
        with pytest.raises(CircuitOpenError):
            scraper.get_json("/scoreboard")
        assert other.breaker.state is BreakerState.CLOSED
    assert {s.provider: s.state for s in registry.snapshots()} == {"mlb": BreakerState.OPEN, "espn": BreakerState.CLOSED}


def test_two_policies_for_one_provider_is_a_configuration_error(clock: FakeClock) -> None:
    registry = ProviderRegistry(clock=clock)
    registry.guards("mlb", DEFAULT_POLICY)
    registry.guards("mlb", DEFAULT_POLICY.with_timeout(1.0))  # the timeout is per client; fine
    with pytest.raises(ValueError, match="'mlb'"):
        registry.guards("mlb", DEFAULT_POLICY.with_rate_limit(RateLimitPolicy(requests_per_second=1)))


def test_the_factory_uses_the_process_wide_registry(provider: FakeProvider) -> None:
    name = "factory-test-provider"
    with provider_client(name, provider.url) as first, provider_client(name, provider.url) as second:
        assert first.breaker is second.breaker is process_registry().guards(name).breaker
        assert first.get_json("/ping") == {"ok": True}
