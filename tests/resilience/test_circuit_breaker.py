"""The circuit breaker alone, on a fake clock: thresholds, window, open time, the single probe."""
from __future__ import annotations

import logging
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.resilience import DEFAULT_POLICY, BreakerPolicy, BreakerState, CircuitBreaker, CircuitOpenError, Permit

from .fake_time import FakeClock


def fail_times(breaker: CircuitBreaker, count: int) -> None:
    for _ in range(count):
        breaker.acquire().record_failure()


def open_breaker(breaker: CircuitBreaker) -> None:
    fail_times(breaker, breaker.policy.failure_threshold)
    assert breaker.state is BreakerState.OPEN


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker("espn", clock=clock)


def test_default_policy_is_five_failures_in_sixty_seconds_open_for_one_hundred_twenty() -> None:
    assert DEFAULT_POLICY.breaker == BreakerPolicy(failure_threshold=5, window_seconds=60.0, open_seconds=120.0)


def test_four_failures_keep_it_closed_the_fifth_opens_it(breaker: CircuitBreaker) -> None:
    fail_times(breaker, 4)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 4
    fail_times(breaker, 1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_half_open == 120.0


def test_a_success_resets_the_consecutive_count(breaker: CircuitBreaker) -> None:
    fail_times(breaker, 4)
    breaker.acquire().record_success()
    fail_times(breaker, 4)
    assert breaker.state is BreakerState.CLOSED


def test_failures_spread_over_more_than_sixty_seconds_do_not_open_it(breaker: CircuitBreaker, clock: FakeClock) -> None:
    for _ in range(4):
        fail_times(breaker, 1)
        clock.advance(15)
    # failures at 0, 15, 30, 45; now 60: the one at 0 has left the window
    fail_times(breaker, 1)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 4
    clock.advance(1)  # 15, 30, 45, 60, 61: five within 60 s
    fail_times(breaker, 1)
    assert breaker.state is BreakerState.OPEN


def test_the_snapshot_counts_only_failures_inside_the_window(breaker: CircuitBreaker, clock: FakeClock) -> None:
    fail_times(breaker, 3)
    clock.advance(30)
    fail_times(breaker, 1)
    assert breaker.snapshot().consecutive_failures == 4
    clock.advance(30)
    assert breaker.snapshot().consecutive_failures == 1


def test_open_circuit_fails_fast_saying_who_and_when(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(30)
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire()
    assert raised.value.provider == "espn"
    assert raised.value.seconds_until_half_open == pytest.approx(90.0)
    assert "'espn'" in str(raised.value) and "90.0 s" in str(raised.value)
    assert breaker.seconds_until_half_open == pytest.approx(90.0)


def test_half_opens_after_one_hundred_twenty_seconds_with_one_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(119.9)
    assert breaker.state is BreakerState.OPEN
    clock.advance(0.1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.seconds_until_half_open is None
    probe = breaker.acquire()
    assert probe.is_probe
    with pytest.raises(CircuitOpenError) as raised:
        breaker.acquire()
    assert raised.value.probe_in_flight
    assert breaker.snapshot().probe_in_flight


def test_probe_success_closes_it(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(120)
    breaker.acquire().record_success()
    assert breaker.snapshot().state is BreakerState.CLOSED
    assert breaker.snapshot().consecutive_failures == 0
    assert not breaker.acquire().is_probe


def test_probe_failure_reopens_it_for_another_one_hundred_twenty_seconds(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(120)
    breaker.acquire().record_failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.seconds_until_half_open == 120.0
    with pytest.raises(CircuitOpenError):
        breaker.acquire()


def test_an_abandoned_probe_frees_the_slot_without_a_verdict(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(120)
    breaker.acquire().abandon()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.acquire().is_probe


def test_results_of_calls_admitted_before_it_opened_are_ignored(breaker: CircuitBreaker, clock: FakeClock) -> None:
    slow_call = breaker.acquire()
    open_breaker(breaker)
    slow_call.record_success()
    assert breaker.state is BreakerState.OPEN
    clock.advance(120)
    probe = breaker.acquire()
    slow_call.record_failure()  # already settled, and stale anyway
    assert breaker.state is BreakerState.HALF_OPEN
    probe.record_success()
    assert breaker.state is BreakerState.CLOSED


def test_a_permit_reports_only_once(breaker: CircuitBreaker) -> None:
    permit = breaker.acquire()
    for _ in range(10):
        permit.record_failure()
    assert breaker.snapshot().consecutive_failures == 1


def test_call_counts_failures_the_caller_chooses(breaker: CircuitBreaker) -> None:
    def boom() -> None:
        raise KeyError("not the provider's fault")

    with pytest.raises(KeyError):
        breaker.call(boom, counts_as_failure=lambda error: not isinstance(error, KeyError))
    assert breaker.snapshot().consecutive_failures == 0
    with pytest.raises(KeyError):
        breaker.call(boom)
    assert breaker.snapshot().consecutive_failures == 1
    assert breaker.call(lambda x: x * 2, 21) == 42
    assert breaker.snapshot().consecutive_failures == 0


def test_only_one_of_many_concurrent_callers_gets_the_probe(breaker: CircuitBreaker, clock: FakeClock) -> None:
    open_breaker(breaker)
    clock.advance(120)
    callers = 16
    start = threading.Barrier(callers)
    permits: list[Permit] = []
    rejections: list[CircuitOpenError] = []
    lock = threading.Lock()

    def try_probe() -> None:
        start.wait()
        try:
            permit = breaker.acquire()
        except CircuitOpenError as error:
            with lock:
                rejections.append(error)
        else:
            with lock:
                permits.append(permit)

    threads = [threading.Thread(target=try_probe) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(permits) == 1 and permits[0].is_probe
    assert len(rejections) == callers - 1 and all(r.probe_in_flight for r in rejections)


def test_every_transition_is_logged_with_structured_fields(
    breaker: CircuitBreaker, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="sportsflow.resilience"):
        open_breaker(breaker)
        clock.advance(120)
        breaker.acquire().record_failure()
        clock.advance(120)
        breaker.acquire().record_success()
    transitions = [(r.getMessage(), r.levelname, r.fields["from_state"], r.fields["to_state"]) for r in caplog.records]
    assert transitions == [
        ("provider.circuit.opened", "WARNING", "closed", "open"),
        ("provider.circuit.half_open", "INFO", "open", "half_open"),
        ("provider.circuit.opened", "WARNING", "half_open", "open"),
        ("provider.circuit.half_open", "INFO", "open", "half_open"),
        ("provider.circuit.closed", "INFO", "half_open", "closed"),
    ]
    assert all(r.name == "sportsflow.resilience" and r.fields["provider"] == "espn" for r in caplog.records)
    assert caplog.records[0].fields["consecutive_failures"] == 5
    assert caplog.records[0].fields["half_open_in_seconds"] == 120.0


# --- property: whatever happens, never two probes -------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.just(0)),
        st.tuples(st.sampled_from(["succeed", "fail", "abandon"]), st.integers(0, 20)),
        st.tuples(st.just("advance"), st.sampled_from([1, 10, 59, 61, 119, 120, 200])),
    ),
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(operations)
def test_never_more_than_one_probe_outstanding(ops: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    breaker = CircuitBreaker("prop", BreakerPolicy(failure_threshold=2, window_seconds=60, open_seconds=120), clock=clock)
    outstanding: list[Permit] = []
    for name, arg in ops:
        if name == "advance":
            clock.advance(arg)
        elif name == "acquire":
            state_before = breaker.state
            try:
                outstanding.append(breaker.acquire())
            except CircuitOpenError:
                assert state_before is not BreakerState.CLOSED
            else:
                assert state_before is not BreakerState.OPEN
        elif outstanding:
            permit = outstanding.pop(arg % len(outstanding))
            {"succeed": permit.record_success, "fail": permit.record_failure, "abandon": permit.abandon}[name]()
        probes = [p for p in outstanding if p.is_probe]
        assert len(probes) <= 1
        snapshot = breaker.snapshot()
        if probes:
            assert snapshot.state is BreakerState.HALF_OPEN and snapshot.probe_in_flight
        assert snapshot.probe_in_flight == bool(probes)
