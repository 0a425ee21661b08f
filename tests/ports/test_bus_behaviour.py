"""The MessageBus contract, run against every adapter: LocalBus always, PubSubBus on the emulator.

The emulator's redelivery timing is approximate (seconds, not the configured backoff), so
anything waiting for a redelivery polls with a deadline instead of expecting it at once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import pytest

from shared.adapters.local.bus import LocalBus, VirtualClock
from shared.ports.bus import MessageBus, OutboundMessage, ReceivedMessage
from shared.topology.model import SubscriptionSpec

REDELIVERY_WAIT_S = 20.0


@dataclass
class BusUnderTest:
    bus: MessageBus
    let_time_pass: Callable[[float], None]
    real_name: Callable[[str], str]  # the name Pub/Sub itself reports (adapters may prefix)


@pytest.fixture(params=["local", pytest.param("pubsub", marks=pytest.mark.emulator)])
def subject(request, unique_name) -> BusUnderTest:
    if request.param == "local":
        clock = VirtualClock()
        bus = LocalBus(clock=clock)
        yield BusUnderTest(bus, clock.advance, lambda name: name)
    else:
        from shared.adapters.gcp.pubsub import PubSubBus

        env = request.getfixturevalue("emulators")
        prefix = f"{unique_name}-"
        bus = PubSubBus(env.get("GOOGLE_CLOUD_PROJECT", "sportsflow-local"), prefix=prefix)
        yield BusUnderTest(bus, time.sleep, lambda name: prefix + name)
    bus.close()


def subscription(name: str, topic: str, **overrides) -> SubscriptionSpec:
    """Fast specs: no backoff, dead letters after the minimum 5 attempts."""
    values = dict(name=name, topic=topic, dead_letter_topic=f"{topic}-dead-letter", max_delivery_attempts=5,
                  min_backoff_s=0, max_backoff_s=0, ack_deadline_s=10)
    return SubscriptionSpec(**{**values, **overrides})


def topic_with_subscription(bus: MessageBus, topic: str = "games", sub: str = "games-sub", **overrides) -> str:
    bus.create_topic(topic)
    bus.create_subscription(subscription(sub, topic, **overrides))
    return sub


def pull_until(bus: MessageBus, sub: str, wanted: Callable[[list[ReceivedMessage]], bool],
               timeout: float = REDELIVERY_WAIT_S) -> list[ReceivedMessage]:
    """Pull (without acking) until the messages seen so far satisfy `wanted`."""
    seen: list[ReceivedMessage] = []
    deadline = time.monotonic() + timeout
    while not wanted(seen) and time.monotonic() < deadline:
        seen += bus.pull(sub, max_messages=10, timeout=1.0)
    assert wanted(seen), f"gave up waiting; saw {[(m.data, m.delivery_attempt) for m in seen]}"
    return seen


def pull_one(bus: MessageBus, sub: str) -> ReceivedMessage:
    messages = pull_until(bus, sub, lambda seen: len(seen) >= 1)
    assert len(messages) == 1, [m.data for m in messages]
    return messages[0]


def test_published_message_is_pulled_with_its_data_and_acked(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus)

    message_id = bus.publish("games", b'{"game": 1}', {"source": "espn"})
    received = pull_one(bus, sub)
    bus.ack(sub, [received.ack_id])

    assert received.message_id == message_id
    assert received.data == b'{"game": 1}'
    assert received.attributes == {"source": "espn"}
    assert received.subscription == sub
    assert received.delivery_attempt == 1
    assert isinstance(received.publish_time, datetime) and received.publish_time.tzinfo is not None
    assert bus.pull(sub, timeout=0.5) == []


def test_batch_publish_returns_ids_in_order_across_topics(subject):
    bus = subject.bus
    games = topic_with_subscription(bus, "games", "games-sub")
    odds = topic_with_subscription(bus, "odds", "odds-sub")

    ids = bus.publish_batch([OutboundMessage("games", b"g1", {"n": "1"}), OutboundMessage("odds", b"o1", {"n": "2"}),
                             OutboundMessage("games", b"g2", {"n": "3"})])

    assert len(set(ids)) == 3
    by_id = {m.message_id: m for m in pull_until(bus, games, lambda s: len(s) >= 2)}
    by_id |= {m.message_id: m for m in pull_until(bus, odds, lambda s: len(s) >= 1)}
    assert [(by_id[i].data, by_id[i].attributes["n"]) for i in ids] == [(b"g1", "1"), (b"o1", "2"), (b"g2", "3")]


def test_acked_message_is_never_redelivered(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus)
    bus.publish("games", b"keep")
    bus.publish("games", b"retry")

    first = pull_until(bus, sub, lambda s: len(s) >= 2)
    bus.ack(sub, [m.ack_id for m in first if m.data == b"keep"])
    bus.nack(sub, [m.ack_id for m in first if m.data == b"retry"])
    again = pull_until(bus, sub, lambda s: any(m.data == b"retry" for m in s))
    bus.ack(sub, [m.ack_id for m in again])

    assert all(m.data != b"keep" for m in again)
    assert bus.pull(sub, timeout=1.0) == []


def test_nacked_message_is_redelivered_with_the_attempt_counted(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus)
    message_id = bus.publish("games", b"flaky")

    first = pull_one(bus, sub)
    bus.nack(sub, [first.ack_id])
    second = pull_one(bus, sub)

    assert (first.message_id, first.delivery_attempt) == (message_id, 1)
    assert (second.message_id, second.delivery_attempt) == (message_id, 2)
    assert second.ack_id != first.ack_id


def test_unacked_message_is_redelivered_after_its_ack_deadline(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus, ack_deadline_s=10)
    bus.publish("games", b"slow")

    first = pull_one(bus, sub)
    subject.let_time_pass(10.5)
    second = pull_one(bus, sub)

    assert second.message_id == first.message_id
    assert second.delivery_attempt == 2


def test_message_exhausting_its_attempts_arrives_on_the_dead_letter_topic(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus, max_delivery_attempts=5)
    bus.create_subscription(subscription("games-dlq-sub", "games-dead-letter", dead_letter_topic=None))
    bus.publish("games", b"poison", {"source": "espn"})

    for attempt in range(1, 6):
        received = pull_one(bus, sub)
        assert received.delivery_attempt == attempt
        bus.nack(sub, [received.ack_id])
    dead = wait_for_dead_letter(bus, source=sub, dead_letters="games-dlq-sub")

    assert dead.data == b"poison"
    assert dead.attributes["source"] == "espn"
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscription"] == subject.real_name(sub)
    assert dead.attributes["CloudPubSubDeadLetterSourceDeliveryCount"] == "5"
    assert dead.attributes["CloudPubSubDeadLetterSourceSubscriptionProject"]
    assert dead.attributes["CloudPubSubDeadLetterSourceTopicPublishTime"]


def wait_for_dead_letter(bus: MessageBus, source: str, dead_letters: str) -> ReceivedMessage:
    """The source must deliver nothing more while the dead letter arrives. (The emulator
    forwards only when the source subscription is pulled again, so keep pulling it.)"""
    deadline = time.monotonic() + REDELIVERY_WAIT_S
    while time.monotonic() < deadline:
        assert bus.pull(source, timeout=0.5) == [], "delivered again after max delivery attempts"
        if dead := bus.pull(dead_letters, timeout=0.5):
            assert len(dead) == 1
            return dead[0]
    raise AssertionError("no dead letter arrived")


def test_ordering_key_messages_arrive_in_publish_order(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus, enable_ordering=True)
    for n in range(5):
        bus.publish("games", f"a{n}".encode(), ordering_key="game-a")
        bus.publish("games", f"b{n}".encode(), ordering_key="game-b")

    received: list[bytes] = []
    deadline = time.monotonic() + REDELIVERY_WAIT_S
    while len(received) < 10 and time.monotonic() < deadline:
        batch = bus.pull(sub, timeout=1.0)
        bus.ack(sub, [m.ack_id for m in batch])
        received += [m.data for m in batch]

    assert [d for d in received if d.startswith(b"a")] == [f"a{n}".encode() for n in range(5)]
    assert [d for d in received if d.startswith(b"b")] == [f"b{n}".encode() for n in range(5)]


def test_nacked_ordered_message_is_redelivered_before_the_rest_of_its_key(subject):
    bus = subject.bus
    sub = topic_with_subscription(bus, enable_ordering=True)
    for n in range(3):
        bus.publish("games", f"m{n}".encode(), ordering_key="game-a")

    acked: list[bytes] = []
    failed_once = False
    deadline = time.monotonic() + REDELIVERY_WAIT_S
    while len(acked) < 3 and time.monotonic() < deadline:
        batch = bus.pull(sub, timeout=1.0)
        if batch and not failed_once:
            # Fail the first one; Pub/Sub redelivers it and everything after it on the key.
            bus.nack(sub, [m.ack_id for m in batch])
            failed_once = True
            continue
        bus.ack(sub, [m.ack_id for m in batch])
        acked += [m.data for m in batch]

    assert acked == [b"m0", b"m1", b"m2"]


def test_every_subscription_of_a_topic_gets_its_own_copy(subject):
    bus = subject.bus
    first = topic_with_subscription(bus, "games", "games-ledger")
    bus.create_subscription(subscription("games-audit", "games"))

    message_id = bus.publish("games", b"final score")
    at_ledger = pull_one(bus, first)
    bus.ack(first, [at_ledger.ack_id])
    at_audit = pull_one(bus, "games-audit")

    assert at_ledger.message_id == at_audit.message_id == message_id
    assert at_audit.data == b"final score"


def test_creates_are_idempotent_and_unknown_topics_are_refused(subject):
    bus = subject.bus
    topic_with_subscription(bus)
    topic_with_subscription(bus)

    with pytest.raises(LookupError):
        bus.publish("no-such-topic", b"x")
    with pytest.raises(LookupError):
        bus.create_subscription(subscription("orphan-sub", "no-such-topic"))
