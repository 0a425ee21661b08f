"""The per-provider token bucket alone, on a fake clock."""
from __future__ import annotations

import threading

import pytest

from shared.resilience import RateLimitExceeded, RateLimitPolicy, TokenBucket

from .fake_time import FakeClock, SleepRecorder


def bucket(clock: FakeClock, sleep, **policy: float) -> TokenBucket:
    return TokenBucket("espn", RateLimitPolicy(**policy), clock=clock, sleep=sleep)


def test_a_full_bucket_serves_its_burst_without_waiting(clock: FakeClock, sleeps: SleepRecorder) -> None:
    limiter = bucket(clock, sleeps, requests_per_second=10, burst=5)
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5
    assert sleeps.waits == []


def test_beyond_the_burst_a_caller_waits_for_the_next_token(clock: FakeClock, sleeps: SleepRecorder) -> None:
    limiter = bucket(clock, sleeps, requests_per_second=10, burst=2)
    limiter.acquire()
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(0.1)
    assert sleeps.waits == [pytest.approx(0.1)]


def test_tokens_refill_with_time_up_to_the_burst(clock: FakeClock, sleeps: SleepRecorder) -> None:
    limiter = bucket(clock, sleeps, requests_per_second=4, burst=3)
    for _ in range(3):
        limiter.acquire()
    clock.advance(0.5)
    assert limiter.available_tokens == pytest.approx(2.0)
    clock.advance(100)
    assert limiter.available_tokens == pytest.approx(3.0)


def test_waiting_callers_queue_behind_each_other(clock: FakeClock) -> None:
    waits: list[float] = []
    limiter = bucket(clock, waits.append, requests_per_second=10, burst=1)  # sleep does not move the clock
    assert [limiter.acquire() for _ in range(4)] == [0.0, pytest.approx(0.1), pytest.approx(0.2), pytest.approx(0.3)]


def test_a_wait_longer_than_allowed_raises_at_once_without_taking_a_token(clock: FakeClock) -> None:
    waits: list[float] = []
    limiter = bucket(clock, waits.append, requests_per_second=10, burst=1, max_wait_seconds=0.15)
    limiter.acquire()
    limiter.acquire()  # waits 0.1
    before = limiter.available_tokens
    with pytest.raises(RateLimitExceeded) as raised:
        limiter.acquire()  # would wait 0.2
    assert raised.value.provider == "espn"
    assert raised.value.wait_needed == pytest.approx(0.2)
    assert "'espn'" in str(raised.value) and "0.15 s" in str(raised.value)
    assert limiter.available_tokens == before
    assert waits == [pytest.approx(0.1)]


def test_concurrent_callers_never_share_a_token(clock: FakeClock) -> None:
    """40 threads on a frozen clock: 10 get the burst, the other 30 get distinct future slots."""
    limiter = bucket(clock, lambda _: None, requests_per_second=10, burst=10, max_wait_seconds=60)
    callers = 40
    start = threading.Barrier(callers)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        start.wait()
        waited = limiter.acquire()
        with lock:
            waits.append(round(waited, 6))

    threads = [threading.Thread(target=take) for _ in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == [0.0] * 10 + [round(0.1 * n, 6) for n in range(1, 31)]


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="requests_per_second"):
        RateLimitPolicy(requests_per_second=0)
    with pytest.raises(ValueError, match="burst"):
        RateLimitPolicy(burst=0)
