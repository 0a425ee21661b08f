"""LocalBus beyond the port: its clocks and dispatch, then the faults it injects.

Each fault test shows the fault really happens (its counter moves and a naive,
non-idempotent handler double-applies or applies out of order) and that a handler written
for at-least-once delivery still ends with the right result.
"""
from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from shared.adapters.local.bus import LocalBus, RealClock, VirtualClock
from shared.adapters.local.bus_faults import FaultPlan
from shared.ports.bus import ReceivedMessage
from shared.topology.model import SubscriptionSpec


def make_bus(faults: FaultPlan | None = None, clock=None, **spec_overrides) -> LocalBus:
    """A bus with topic `scores` -> subscription `scores-sub` (dead letters to `scores-dead-letter`)."""
    bus = LocalBus(clock=clock or VirtualClock(), faults=faults)
    bus.create_topic("scores")
    spec = dict(name="scores-sub", topic="scores", dead_letter_topic="scores-dead-letter",
                max_delivery_attempts=5, min_backoff_s=10, max_backoff_s=600, ack_deadline_s=60)
    bus.create_subscription(SubscriptionSpec(**{**spec, **spec_overrides}))
    return bus


def publish_numbers(bus: LocalBus, count: int, ordering_key: str = "") -> None:
    for n in range(count):
        bus.publish("scores", str(n).encode(), ordering_key=ordering_key)


class NaiveTally:
    """Adds every delivery it sees: right only under exactly-once delivery."""

    def __init__(self) -> None:
        self.total = 0
        self.seen: list[ReceivedMessage] = []
        self._lock = threading.Lock()

    def __call__(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.total += int(message.data)
            self.seen.append(message)


class IdempotentTally(NaiveTally):
    """Applies each message id once, whatever the delivery count."""

    def __init__(self) -> None:
        super().__init__()
        self.applied: set[str] = set()

    def __call__(self, message: ReceivedMessage) -> None:
        with self._lock:
            self.seen.append(message)
            if message.message_id not in self.applied:
                self.applied.add(message.message_id)
                self.total += int(message.data)


# --- the clock and dispatch the faults are injected into -------------------------------
def test_retry_backoff_is_exponential_and_capped_in_virtual_time():
    bus = make_bus(min_backoff_s=100, max_backoff_s=250)
    bus.publish("scores", b"1")
    delivered_at: list[float] = []

    def always_fails(message: ReceivedMessage) -> None:
        delivered_at.append(bus.clock.now())
        raise RuntimeError("downstream unavailable")

    bus.attach("scores-sub", always_fails)
    started = time.monotonic()
    summary = bus.drain()

    assert delivered_at == [0, 100, 300, 550, 800]  # 100, 200, then capped at 250
    assert (summary.delivered, summary.nacked, summary.dead_lettered, summary.pending) == (5, 5, 1, 0)
    assert time.monotonic() - started < 1.0


def test_drain_delivers_dead_letters_to_attached_subscribers_too():
    bus = make_bus()
    bus.create_subscription(SubscriptionSpec(name="dead-letters", topic="scores-dead-letter",
                                             dead_letter_topic=None))
    dead: list[ReceivedMessage] = []
    bus.attach("scores-sub", lambda m: 1 / 0)
    bus.attach("dead-letters", dead.append)
    bus.publish("scores", b"7", {"game": "g1"})

    bus.drain()

    assert [(m.data, m.attributes["game"], m.attributes["CloudPubSubDeadLetterSourceDeliveryCount"])
            for m in dead] == [(b"7", "g1", "5")]


def test_drain_stops_at_max_seconds_leaving_the_rest_pending():
    bus = make_bus(dead_letter_topic=None)  # no dead-letter policy: retried forever
    bus.publish("scores", b"1")
    bus.attach("scores-sub", lambda m: 1 / 0)

    summary = bus.drain(max_seconds=3600)

    assert summary.pending == 1
    assert summary.elapsed_s <= 3600
    assert summary.delivered == summary.nacked >= 7  # 10+20+...+600 s of backoff fits ~10 tries


def test_ordered_nack_holds_back_its_key_but_not_other_keys():
    bus = make_bus(enable_ordering=True)
    for n in range(3):
        bus.publish("scores", f"a{n}".encode(), ordering_key="game-a")
        bus.publish("scores", f"b{n}".encode(), ordering_key="game-b")
    handled: list[str] = []
    failed = set()

    def fails_a0_once(message: ReceivedMessage) -> None:
        name = message.data.decode()
        if name == "a0" and name not in failed:
            failed.add(name)
            raise RuntimeError("transient")
        handled.append(name)

    bus.attach("scores-sub", fails_a0_once)
    bus.drain()

    assert [h for h in handled if h.startswith("a")] == ["a0", "a1", "a2"]
    assert handled[:3] == ["b0", "b1", "b2"]  # game-b went on while a0 waited out its backoff


def test_threaded_dispatch_runs_handlers_concurrently_and_handles_each_message_once():
    bus = make_bus(clock=RealClock())
    overlap = threading.Barrier(4, timeout=5)
    tally = NaiveTally()

    def handler(message: ReceivedMessage) -> None:
        if int(message.data) < 4:
            overlap.wait()  # only passes if four handlers run at the same time
        tally(message)

    bus.attach("scores-sub", handler)
    bus.start(workers=4)
    try:
        publish_numbers(bus, 200)
        assert bus.wait_until_idle(timeout=10)
    finally:
        bus.stop()

    assert tally.total == sum(range(200))
    assert Counter(m.message_id for m in tally.seen).most_common(1)[0][1] == 1
    assert bus.counts.handler_errors == 0


def test_scaled_real_clock_makes_a_ten_second_backoff_short():
    bus = make_bus(clock=RealClock(scale=1000))
    attempts: list[int] = []

    def fails_first(message: ReceivedMessage) -> None:
        attempts.append(message.delivery_attempt)
        if message.delivery_attempt == 1:
            raise RuntimeError("transient")

    bus.attach("scores-sub", fails_first)
    bus.start(workers=2)
    try:
        started = time.monotonic()
        bus.publish("scores", b"1")
        assert bus.wait_until_idle(timeout=5)
    finally:
        bus.stop()

    assert attempts == [1, 2]
    assert time.monotonic() - started < 1.0


# --- duplicate delivery -------------------------------------------------------------------
def test_duplicates_deliver_every_message_twice_and_double_apply_a_naive_handler():
    naive_bus, idempotent_bus = (make_bus(FaultPlan(seed=1, duplicate_probability=1.0)) for _ in range(2))
    naive, idempotent = NaiveTally(), IdempotentTally()
    for bus, handler in ((naive_bus, naive), (idempotent_bus, idempotent)):
        publish_numbers(bus, 10)
        bus.attach("scores-sub", handler)
        bus.drain()

    assert naive_bus.faults.counts.duplicated == 10
    assert Counter(m.message_id for m in naive.seen) == Counter({m.message_id: 2 for m in naive.seen})
    assert naive.total == 2 * sum(range(10))
    assert idempotent.total == sum(range(10))


def test_duplicate_probability_duplicates_some_messages_reproducibly():
    def run() -> list[str]:
        bus = make_bus(FaultPlan(seed=7, duplicate_probability=0.3))
        publish_numbers(bus, 100)
        tally = NaiveTally()
        bus.attach("scores-sub", tally)
        bus.drain()
        return [m.message_id for m in tally.seen]

    first = run()
    duplicated = sum(1 for count in Counter(first).values() if count == 2)
    assert 10 < duplicated < 60
    assert run() == first


# --- reordering ---------------------------------------------------------------------------
def test_reordering_shuffles_delivery_and_breaks_a_last_write_wins_handler():
    bus = make_bus(FaultPlan(seed=3, reorder=True))
    publish_numbers(bus, 30)  # score updates 0..29 for one game; 29 is the final score
    last_written: list[int] = []
    highest_seen: list[int] = []

    def handler(message: ReceivedMessage) -> None:
        score = int(message.data)
        last_written[:] = [score]  # naive: whatever arrives last wins
        highest_seen[:] = [max(highest_seen + [score])]  # order-insensitive (monotonic) merge

    bus.attach("scores-sub", handler)
    bus.drain()

    assert bus.faults.counts.reordered > 0
    assert last_written != [29]
    assert highest_seen == [29]


def test_reordering_keeps_each_ordering_key_in_order():
    bus = make_bus(FaultPlan(seed=3, reorder=True), enable_ordering=True)
    for n in range(10):
        for key in ("game-a", "game-b", "game-c"):
            bus.publish("scores", f"{key}:{n}".encode(), ordering_key=key)
    delivered: list[str] = []
    bus.attach("scores-sub", lambda m: delivered.append(m.data.decode()))

    bus.drain()

    assert bus.faults.counts.reordered > 0
    for key in ("game-a", "game-b", "game-c"):
        assert [d for d in delivered if d.startswith(key)] == [f"{key}:{n}" for n in range(10)]
    assert delivered != [f"{k}:{n}" for n in range(10) for k in ("game-a", "game-b", "game-c")]


# --- lost acks ------------------------------------------------------------------------------
def test_lost_ack_redelivers_after_the_ack_deadline_and_double_applies_a_naive_handler():
    plan = FaultPlan(seed=5, lost_ack_probability=0.5)
    naive_bus, idempotent_bus = make_bus(plan), make_bus(plan)
    naive, idempotent = NaiveTally(), IdempotentTally()
    for bus, handler in ((naive_bus, naive), (idempotent_bus, idempotent)):
        publish_numbers(bus, 20)
        bus.attach("scores-sub", handler)
        bus.drain()

    redelivered = [m for m in naive.seen if m.delivery_attempt > 1]
    assert naive_bus.faults.counts.acks_lost > 0
    assert redelivered and naive_bus.counts.expired == naive_bus.faults.counts.acks_lost
    assert naive.total > sum(range(20))
    assert idempotent.total == sum(range(20))
    assert naive_bus.pending("scores-sub") == 0


def test_lost_ack_on_pull_brings_the_message_back_after_its_deadline():
    bus = make_bus(FaultPlan(lost_ack_probability=1.0), ack_deadline_s=30)
    bus.publish("scores", b"1")
    first = bus.pull("scores-sub", timeout=0)
    bus.ack("scores-sub", [first[0].ack_id])

    # Back after the 30 s ack deadline plus the 10 s retry backoff (both apply, as in Pub/Sub).
    assert bus.pull("scores-sub", timeout=39) == []
    again = bus.pull("scores-sub", timeout=2)
    assert [(m.message_id, m.delivery_attempt) for m in again] == [(first[0].message_id, 2)]


# --- all together ---------------------------------------------------------------------------
def test_chaos_plan_is_reproducible_and_an_idempotent_handler_still_gets_it_right():
    def run(seed: int) -> tuple[list[tuple[str, int]], int]:
        bus = make_bus(FaultPlan.chaos(seed))
        publish_numbers(bus, 50)
        tally = IdempotentTally()
        bus.attach("scores-sub", tally)
        summary = bus.drain()
        assert summary.pending == 0
        return [(m.message_id, m.delivery_attempt) for m in tally.seen], tally.total

    deliveries, total = run(seed=11)
    assert total == sum(range(50))
    assert len(deliveries) > 50
    assert run(seed=11) == (deliveries, total)
    assert run(seed=12)[0] != deliveries


def test_fault_probabilities_must_be_probabilities():
    with pytest.raises(ValueError):
        FaultPlan(duplicate_probability=1.5)
