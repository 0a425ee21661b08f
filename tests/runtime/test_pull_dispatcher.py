"""PullDispatcher: pull threads that never die, and real quiescence instead of an idle timer.

A small wall-clock fake of Pub/Sub (redelivery a few seconds after a nack, like the emulator's
backoff; forwarding to the dead-letter topic after max attempts; injectable pull/ack failures)
shows what `run_until_idle` gets wrong and `run_until_quiescent` gets right; the emulator tests
do the same against the real Pub/Sub emulator, with messages too large for gRPC's default.
"""
from __future__ import annotations

import base64
import io
import itertools
import json
import threading
import time
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pytest
from google.api_core import exceptions as google_errors

from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import (
    MAX_MESSAGE_BYTES,
    AnalyticsCompleted,
    DeadLetter,
    decode,
    encode,
)
from shared.contracts.codec import PUBSUB_MAX_MESSAGE_BYTES
from shared.observability.logging import configure_logging
from shared.ports.bus import OutboundMessage, ReceivedMessage
from shared.runtime import PubSubFunction, TransientError
from shared.runtime.pull_dispatcher import (
    DEAD_LETTER_SOURCE_SUBSCRIPTION,
    NotQuiescent,
    PullDispatcher,
)
from shared.topology import TOPOLOGY, SubscriptionSpec

SUB_A = SubscriptionSpec(name="sub-a", topic="topic-a", dead_letter_topic=None)
SUB_B = SubscriptionSpec(name="sub-b", topic="topic-b", dead_letter_topic=None)
SUB_A_DLQ = SUB_A.model_copy(update={"dead_letter_topic": "topic-a-dead-letter", "max_delivery_attempts": 5})
SINK = SubscriptionSpec(name="sink-a", topic="topic-a-dead-letter", dead_letter_topic=None)


# --- a small Pub/Sub in wall time ---------------------------------------------------------------
@dataclass(eq=False)
class _Copy:
    message_id: str
    data: bytes
    attributes: dict
    ready_at: float
    attempts: int = 0


class FakeBus:
    """Pub/Sub semantics in wall time: a nacked (or expired) message comes back after
    `redeliver_after_s`; after max delivery attempts it is forwarded to the dead-letter topic;
    a published message becomes visible after `visible_after_s`. `pull_failures[sub]` and
    `ack_failures[sub]` (`nack_failures[sub]`) are raised by the next pulls/acks (nacks) of that subscription."""

    def __init__(self, *specs: SubscriptionSpec, redeliver_after_s: float = 3.0, ack_deadline_s: float = 30.0,
                 visible_after_s: float = 0.0):
        self.specs = {spec.name: spec for spec in specs}
        self.redeliver_after_s = redeliver_after_s
        self.ack_deadline_s = ack_deadline_s
        self.visible_after_s = visible_after_s
        self.pull_failures: dict[str, list[Exception]] = {}
        self.ack_failures: dict[str, list[Exception]] = {}
        self.nack_failures: dict[str, list[Exception]] = {}
        self._cond = threading.Condition()
        self._ready: dict[str, list[_Copy]] = {name: [] for name in self.specs}
        self._leases: dict[str, tuple[str, _Copy, float]] = {}
        self._ids = itertools.count(1)

    def publish(self, topic, data, attributes=None, ordering_key=""):
        with self._cond:
            return self._publish_locked(topic, data, dict(attributes or {}))

    def publish_batch(self, messages: list[OutboundMessage]):
        return [self.publish(m.topic, m.data, m.attributes, m.ordering_key) for m in messages]  # nested, like PubSubBus

    def pull(self, subscription, max_messages=10, timeout=5.0):
        failures = self.pull_failures.get(subscription)
        if failures:
            raise failures.pop(0)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                self._expire_leases()
                now = time.monotonic()
                ready = [c for c in self._ready[subscription] if c.ready_at <= now][:max_messages]
                if ready or now >= deadline:
                    return [self._lease(subscription, copy) for copy in ready]
                self._cond.wait(min(0.05, deadline - now))

    def ack(self, subscription, ack_ids):
        failures = self.ack_failures.get(subscription)
        if failures:
            raise failures.pop(0)
        with self._cond:
            for ack_id in ack_ids:
                self._leases.pop(ack_id, None)

    def nack(self, subscription, ack_ids):
        failures = self.nack_failures.get(subscription)
        if failures:
            raise failures.pop(0)
        with self._cond:
            for ack_id in ack_ids:
                if ack_id in self._leases:
                    self._retry_or_forward(*self._leases.pop(ack_id)[:2])

    def outstanding(self, subscription) -> int:
        with self._cond:
            return len(self._ready[subscription]) + sum(1 for sub, _, _ in self._leases.values() if sub == subscription)

    def close(self):
        pass

    def _publish_locked(self, topic, data, attributes):
        message_id = str(next(self._ids))
        for name, spec in self.specs.items():
            if spec.topic == topic:
                self._ready[name].append(_Copy(message_id, bytes(data), attributes,
                                               time.monotonic() + self.visible_after_s))
        self._cond.notify_all()
        return message_id

    def _lease(self, subscription, copy):
        self._ready[subscription].remove(copy)
        copy.attempts += 1
        ack_id = f"{subscription}/{next(self._ids)}"
        self._leases[ack_id] = (subscription, copy, time.monotonic() + self.ack_deadline_s)
        spec = self.specs[subscription]
        return ReceivedMessage(message_id=copy.message_id, subscription=subscription, data=copy.data,
                               attributes=dict(copy.attributes), ordering_key="",
                               delivery_attempt=copy.attempts if spec.dead_letter_topic else 0,
                               publish_time=datetime.now(timezone.utc), ack_id=ack_id)

    def _expire_leases(self):
        now = time.monotonic()
        for ack_id, (subscription, copy, deadline) in list(self._leases.items()):
            if deadline <= now:
                del self._leases[ack_id]
                self._retry_or_forward(subscription, copy)

    def _retry_or_forward(self, subscription, copy):
        spec = self.specs[subscription]
        if spec.dead_letter_topic and copy.attempts >= spec.max_delivery_attempts:
            attributes = {**copy.attributes, DEAD_LETTER_SOURCE_SUBSCRIPTION: subscription,
                          "CloudPubSubDeadLetterSourceDeliveryCount": str(copy.attempts)}
            self._publish_locked(spec.dead_letter_topic, copy.data, attributes)  # Pub/Sub's, not ours
            return
        copy.ready_at = time.monotonic() + self.redeliver_after_s
        self._ready[subscription].append(copy)
        self._cond.notify_all()


class Recorder:
    """A subscriber that records deliveries and fails the first `fail_first` of them (or all)."""

    def __init__(self, fail_first: int = 0, then=None):
        self.received: list[ReceivedMessage] = []
        self.fail_first = fail_first
        self.then = then

    def __call__(self, message: ReceivedMessage):
        self.received.append(message)
        if len(self.received) <= self.fail_first:
            raise TransientError(f"simulated failure {len(self.received)}")
        if self.then:
            self.then(message)


ALWAYS = 10 ** 9


def dispatcher_for(bus, routes, subscriptions) -> PullDispatcher:
    return PullDispatcher(bus, routes, subscriptions=subscriptions, pull_timeout=0.1)


# --- quiescence -----------------------------------------------------------------------------------
def test_run_until_idle_returns_early_while_run_until_quiescent_waits_for_the_redelivery():
    def scenario():
        bus, flaky = FakeBus(SUB_A, redeliver_after_s=3), Recorder(fail_first=1)
        bus.publish("topic-a", b"first try fails")
        return bus, flaky

    bus, flaky = scenario()
    dispatcher_for(bus, {"sub-a": flaky}, [SUB_A]).run_until_idle(idle_seconds=1)
    assert len(flaky.received) == 1 and bus.outstanding("sub-a") == 1  # exited with the message unsettled

    bus, flaky = scenario()
    started = time.monotonic()
    summary = dispatcher_for(bus, {"sub-a": flaky}, [SUB_A]).run_until_quiescent(timeout=30)
    assert time.monotonic() - started >= 3
    assert len(flaky.received) == 2 and bus.outstanding("sub-a") == 0
    assert (summary.acked, summary.nacked, summary.outstanding) == (1, 1, {})


def test_messages_the_handlers_publish_are_waited_for_even_before_they_are_visible():
    bus = FakeBus(SUB_A, SUB_B, visible_after_s=1.5)  # a slow bus: pulls see new messages 1.5 s late
    downstream = Recorder()
    upstream = Recorder(then=lambda m: bus.publish("topic-b", b"downstream " + m.data))
    dispatcher = dispatcher_for(bus, {"sub-a": upstream, "sub-b": downstream}, [SUB_A, SUB_B])
    dispatcher.start_tracking()  # before the first publish, so it is counted too
    bus.publish("topic-a", b"one")
    summary = dispatcher.run_until_quiescent(timeout=30)
    assert [m.data for m in downstream.received] == [b"downstream one"]
    assert summary.acked == 2 and summary.outstanding == {}
    assert "publish" not in vars(bus) and "publish_batch" not in vars(bus)  # the bus is given back as it was


def test_a_publish_wrapper_someone_else_installed_is_kept_and_restored():
    bus, seen = FakeBus(SUB_B), []
    original = bus.publish

    def audited(topic, data, attributes=None, ordering_key=""):
        seen.append(data)
        return original(topic, data, attributes, ordering_key)

    bus.publish = audited
    dispatcher = dispatcher_for(bus, {"sub-b": Recorder()}, [SUB_B])
    dispatcher.start_tracking()
    bus.publish("topic-b", b"through both")
    assert dispatcher.run_until_quiescent(timeout=30).acked == 1
    assert seen == [b"through both"] and bus.publish is audited


def test_publish_batch_is_tracked_once_per_message():
    bus = FakeBus(SUB_B, visible_after_s=1.0)
    downstream = Recorder()
    dispatcher = dispatcher_for(bus, {"sub-b": downstream}, [SUB_B])
    dispatcher.start_tracking()
    bus.publish_batch([OutboundMessage("topic-b", b"x"), OutboundMessage("topic-b", b"y")])
    assert dispatcher.outstanding() == {"sub-b": 2}
    assert dispatcher.run_until_quiescent(timeout=30).acked == 2


def test_a_message_published_before_the_dispatcher_and_nacked_is_waited_for():
    bus, flaky = FakeBus(SUB_A, redeliver_after_s=1), Recorder(fail_first=2)
    bus.publish("topic-a", b"published before any dispatcher existed")
    summary = dispatcher_for(bus, {"sub-a": flaky}, [SUB_A]).run_until_quiescent(timeout=30)
    assert len(flaky.received) == 3 and summary.nacked == 2 and bus.outstanding("sub-a") == 0


def test_an_exhausted_message_settles_when_its_forwarded_copy_arrives_on_the_dead_letter_topic():
    bus = FakeBus(SUB_A_DLQ, SINK, redeliver_after_s=0.1)
    failing, sink = Recorder(fail_first=ALWAYS), Recorder()
    dispatcher = dispatcher_for(bus, {"sub-a": failing, "sink-a": sink}, [SUB_A_DLQ, SINK])
    dispatcher.start_tracking()
    bus.publish("topic-a", b"never succeeds", {"message_id": "envelope-1"})
    summary = dispatcher.run_until_quiescent(timeout=30)
    assert len(failing.received) == 5
    [forwarded] = sink.received
    assert forwarded.attributes[DEAD_LETTER_SOURCE_SUBSCRIPTION] == "sub-a"
    assert forwarded.attributes["message_id"] == "envelope-1"
    assert (summary.nacked, summary.dead_lettered, summary.outstanding) == (5, 1, {})


def test_an_exhausted_message_with_no_routed_dead_letter_sink_is_settled_by_its_last_nack():
    bus, failing = FakeBus(SUB_A_DLQ, SINK, redeliver_after_s=0.1), Recorder(fail_first=ALWAYS)
    bus.publish("topic-a", b"never succeeds")
    summary = dispatcher_for(bus, {"sub-a": failing}, [SUB_A_DLQ, SINK]).run_until_quiescent(timeout=30)
    assert len(failing.received) == 5 and summary.dead_lettered == 1 and summary.outstanding == {}


def test_timeout_names_each_subscription_and_its_outstanding_count():
    bus = FakeBus(SUB_A, SUB_B, redeliver_after_s=0.2)
    bus.publish("topic-a", b"never succeeds")
    with pytest.raises(TimeoutError) as caught:
        routes = {"sub-a": Recorder(fail_first=ALWAYS), "sub-b": Recorder()}
        dispatcher_for(bus, routes, [SUB_A, SUB_B]).run_until_quiescent(timeout=2)
    err = caught.value
    assert isinstance(err, NotQuiescent) and err.outstanding == {"sub-a": 1}
    assert "sub-a: 1 (1 nacked, waiting for redelivery)" in str(err) and "sub-b" not in str(err)
    assert err.summary.nacked >= 2


def test_specs_come_from_the_bus_or_the_topology_and_unknown_routes_are_refused():
    routed = TOPOLOGY.subscriptions[0]
    bus = FakeBus(routed)  # it has no subscription_spec(): the topology answers
    PullDispatcher(bus, {routed.name: Recorder()}).run_until_quiescent(timeout=10)
    with pytest.raises(ValueError, match="no subscription spec for not-in-topology"):
        PullDispatcher(FakeBus(SUB_A), {"not-in-topology": Recorder()}).run_until_quiescent(timeout=1)


# --- threads that never die ----------------------------------------------------------------------
@pytest.fixture
def log_lines():
    stream = io.StringIO()
    configure_logging(stream=stream)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    configure_logging()


def test_every_pull_error_is_logged_backed_off_and_survived(log_lines):
    bus, handler = FakeBus(SUB_A), Recorder()
    bus.pull_failures["sub-a"] = [
        google_errors.ServiceUnavailable("emulator restarting"),
        google_errors.ResourceExhausted("Received message larger than max (5000102 vs. 4194304)"),
        RuntimeError("a bug in the adapter"), MemoryError("simulated"),
    ]
    bus.publish("topic-a", b"delivered once the pulls recover")
    summary = dispatcher_for(bus, {"sub-a": handler}, [SUB_A]).run_until_quiescent(timeout=30)
    assert [m.data for m in handler.received] == [b"delivered once the pulls recover"]
    assert summary.pull_errors == 4 and summary.acked == 1
    failures = [line for line in log_lines() if line["message"] == "pull failed; backing off and pulling again"]
    assert [line["error_type"] for line in failures] == ["ServiceUnavailable", "ResourceExhausted",
                                                         "RuntimeError", "MemoryError"]
    assert failures[-1]["subscription"] == "sub-a" and failures[-1]["consecutive_failures"] == 4
    assert failures[0]["severity"] == "WARNING"


def test_a_failed_ack_leaves_the_message_outstanding_until_it_is_redelivered_and_acked(log_lines):
    from shared.runtime.pull_dispatcher import SETTLE_ATTEMPTS
    bus, handler = FakeBus(SUB_A, ack_deadline_s=1.0, redeliver_after_s=0.2), Recorder()
    bus.ack_failures["sub-a"] = [google_errors.DeadlineExceeded("ack timed out")] * SETTLE_ATTEMPTS
    bus.publish("topic-a", b"acked on the second delivery")
    summary = dispatcher_for(bus, {"sub-a": handler}, [SUB_A]).run_until_quiescent(timeout=30)
    assert len(handler.received) == 2 and summary.settle_errors == 1 and bus.outstanding("sub-a") == 0
    [line] = [line for line in log_lines() if line["message"].startswith("ack/nack failed")]
    assert line["operation"] == "ack" and line["error_type"] == "DeadlineExceeded"


def test_a_transient_ack_or_nack_failure_is_retried_at_once_not_left_to_the_ack_deadline():
    """One timed-out ack and one timed-out nack (an overloaded emulator): each is tried again at
    once, so the message is neither redelivered after the ack deadline nor left outstanding."""
    bus, handler = FakeBus(SUB_A, ack_deadline_s=600.0, redeliver_after_s=0.1), Recorder()
    bus.ack_failures["sub-a"] = [google_errors.DeadlineExceeded("ack timed out")]
    bus.publish("topic-a", b"acked on the retry")
    summary = dispatcher_for(bus, {"sub-a": handler}, [SUB_A]).run_until_quiescent(timeout=30)
    assert len(handler.received) == 1 and summary.acked == 1 and summary.settle_errors == 0

    calls = []

    def fails_once(message):
        calls.append(message.data)
        if len(calls) == 1:
            raise RuntimeError("transient")

    bus.nack_failures["sub-a"] = [google_errors.DeadlineExceeded("nack timed out")]
    bus.publish("topic-a", b"nacked, then redelivered at once")
    summary = dispatcher_for(bus, {"sub-a": fails_once}, [SUB_A]).run_until_quiescent(timeout=30)
    assert calls == [b"nacked, then redelivered at once"] * 2  # not after the 600 s ack deadline
    assert summary.nacked == 1 and summary.acked == 1 and summary.settle_errors == 0


def test_a_subscriber_that_raises_anything_is_nacked_and_the_thread_goes_on():
    bus = FakeBus(SUB_A, redeliver_after_s=0.1)
    calls = []

    def erratic(message):
        calls.append(message.data)
        if len(calls) == 1:
            raise RecursionError("simulated")
        if len(calls) == 2:
            raise KeyError("simulated")

    bus.publish("topic-a", b"m")
    summary = dispatcher_for(bus, {"sub-a": erratic}, [SUB_A]).run_until_quiescent(timeout=30)
    assert calls == [b"m"] * 3 and (summary.nacked, summary.acked) == (2, 1)


class ProcessDied(BaseException):
    """Like a simulated crash: not an Exception, so no handler's `except Exception` catches it."""


def test_a_subscriber_whose_process_dies_is_redelivered_by_a_thread_that_lives_on():
    bus = FakeBus(SUB_A, redeliver_after_s=0.1)
    calls = []

    def dies_once(message):
        calls.append(message.data)
        if len(calls) == 1:
            raise ProcessDied("killed between two effects")
        if len(calls) == 2:
            raise SystemExit(1)

    bus.publish("topic-a", b"m")
    summary = dispatcher_for(bus, {"sub-a": dies_once}, [SUB_A]).run_until_quiescent(timeout=30)
    assert calls == [b"m"] * 3 and (summary.crashed, summary.nacked, summary.acked) == (2, 2, 1)


# --- bad input on the pull path: dead-lettered and acked --------------------------------------------
FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")
SOURCE = FUNCTION.trigger_topic
FN_SUB = SubscriptionSpec(name="fn-sub", topic=SOURCE, dead_letter_topic=f"{SOURCE}-dead-letter")
FN_SINK = SubscriptionSpec(name="fn-sink", topic=f"{SOURCE}-dead-letter", dead_letter_topic=None)
BAD_PULLED = [  # (kind, data, attributes)
    ("oversize", b"x" * (MAX_MESSAGE_BYTES + 1), {}),
    ("too_deeply_nested", b"[" * 100_000, {}),
    ("not_json", b"1" * 5000, {}),
    ("unencodable_text", json.dumps({"message_type": "AnalyticsCompleted", "run_id": "\ud800"}).encode(), {}),
    ("bad_envelope", encode(AnalyticsCompleted(processor_name="p", analysis_date=date(2025, 1, 15), success=True),
                            run_id="r", correlation_id="c").data, {"correlation_id": ["not", "a", "string"]}),
]


def test_bad_pulled_messages_are_dead_lettered_with_their_reason_and_acked(tmp_path):
    bus = FakeBus(FN_SUB, FN_SINK)
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus)
    handled, sink = [], Recorder()
    function = PubSubFunction(FUNCTION, TOPOLOGY, lambda m, c: handled.append(m), lambda: services)
    dispatcher = dispatcher_for(bus, {"fn-sub": function.on_received, "fn-sink": sink}, [FN_SUB, FN_SINK])
    dispatcher.start_tracking()
    for _, data, attributes in BAD_PULLED:
        bus.publish(SOURCE, data, attributes)
    summary = dispatcher.run_until_quiescent(timeout=30)
    letters = [decode(m.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message for m in sink.received]
    assert sorted(letter.error_kind for letter in letters) == sorted(kind for kind, _, _ in BAD_PULLED)
    assert all(isinstance(letter, DeadLetter) and letter.reason for letter in letters)
    assert handled == [] and summary.nacked == 0 and summary.outstanding == {}
    assert bus.outstanding("fn-sub") == 0 and bus.outstanding("fn-sink") == 0


# --- the real Pub/Sub emulator ------------------------------------------------------------------------
@pytest.mark.emulator
def test_emulator_big_transient_and_exhausted_messages_all_settle(emulators, unique_name, tmp_path):
    from shared.adapters.gcp.pubsub import PubSubBus

    bus = PubSubBus(unique_name, prefix="px-")  # the forwarded copy names the prefixed subscription
    fast = dict(min_backoff_s=1, max_backoff_s=2, ack_deadline_s=10)
    fn_sub, fn_sink = FN_SUB.model_copy(update=fast), FN_SINK.model_copy(update=fast)
    for topic in (SOURCE, f"{SOURCE}-dead-letter"):
        bus.create_topic(topic)
    for spec in (fn_sub, fn_sink):
        bus.create_subscription(spec)
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus)
    attempts: dict[str, int] = {}

    def handler(message, ctx):
        attempts[message.processor_name] = attempts.get(message.processor_name, 0) + 1
        if message.processor_name == "always_fails" or attempts[message.processor_name] == 1:
            raise TransientError(f"simulated outage for {message.processor_name}")

    function = PubSubFunction(FUNCTION, TOPOLOGY, handler, lambda: services)
    sink = Recorder()
    dispatcher = dispatcher_for(bus, {fn_sub.name: function.on_received, fn_sink.name: sink}, [fn_sub, fn_sink])
    dispatcher.start_tracking()
    for name in ("fails_once", "always_fails"):
        message = AnalyticsCompleted(processor_name=name, analysis_date=date(2025, 1, 15), success=True)
        encoded = encode(message, run_id="r", correlation_id="c")
        bus.publish(SOURCE, encoded.data, encoded.attributes)
    bus.publish(SOURCE, b"x" * 5_000_000)  # beyond gRPC's default 4 MB receive limit
    bus.publish(SOURCE, base64.b64encode(b"y" * 1_200_000))  # beyond our 1 MB limit
    try:
        summary = dispatcher.run_until_quiescent(timeout=180)
    finally:
        bus.close()
    assert attempts == {"fails_once": 2, "always_fails": 5}
    forwarded = [m for m in sink.received if DEAD_LETTER_SOURCE_SUBSCRIPTION in m.attributes]
    letters = [decode(m.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message for m in sink.received
               if m not in forwarded]
    assert [m.attributes[DEAD_LETTER_SOURCE_SUBSCRIPTION] for m in forwarded] == ["px-fn-sub"]
    assert sorted(letter.error_kind for letter in letters) == ["oversize", "oversize"]
    assert summary.outstanding == {} and summary.dead_lettered == 1 and summary.pull_errors == 0
