"""The function runtime on the embedded bus: good input handled, bad input dead-lettered, transient retried."""
import base64
import io
import json
from datetime import date

import pytest

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import PUBSUB_MAX_MESSAGE_BYTES
from shared.contracts import AnalyticsCompleted, DeadLetter, MAX_MESSAGE_BYTES, PrecomputeTrigger, decode, encode
from shared.observability.logging import configure_logging
from shared.runtime import Delivery, Outcome, PermanentError, PubSubFunction, TransientError, delivery_from_push
from shared.topology import TOPOLOGY, SubscriptionSpec

FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")
SOURCE_TOPIC = FUNCTION.trigger_topic
DLQ = f"{SOURCE_TOPIC}-dead-letter"
GOOD = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15), success=True)


@pytest.fixture
def bus():
    bus = LocalBus()
    for topic in (SOURCE_TOPIC, DLQ, "phase4-trigger"):
        bus.create_topic(topic)
    bus.create_subscription(SubscriptionSpec(name="dlq-inspect", topic=DLQ, dead_letter_topic=None))
    bus.create_subscription(SubscriptionSpec(name="trigger-inspect", topic="phase4-trigger", dead_letter_topic=None))
    yield bus
    bus.close()


@pytest.fixture
def services(bus, tmp_path):
    return Services.with_adapters(Settings(home=tmp_path), bus=bus)


def make_function(services, handler):
    return PubSubFunction(FUNCTION, TOPOLOGY, handler, lambda: services)


def dead_letters(bus) -> list[DeadLetter]:
    received = bus.pull("dlq-inspect", max_messages=100, timeout=0)
    bus.ack("dlq-inspect", [m.ack_id for m in received])
    return [decode(m.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message for m in received]


def good_delivery(message=GOOD, **ids) -> Delivery:
    encoded = encode(message, run_id="upstream-run", correlation_id=ids.get("correlation_id", "corr-42"))
    return Delivery(data=encoded.data, attributes=encoded.attributes, message_id="m-1")


def test_good_message_reaches_the_handler_with_context(services, bus):
    seen = []
    outcome = make_function(services, lambda msg, ctx: seen.append((msg, ctx))).handle(good_delivery())
    assert outcome is Outcome.HANDLED
    message, ctx = seen[0]
    assert message == GOOD
    assert ctx.correlation_id == "corr-42" and ctx.run_id != "upstream-run"
    assert dead_letters(bus) == []


def test_context_publish_carries_correlation_and_refuses_undeclared_topics(services, bus):
    trigger = PrecomputeTrigger(analysis_date=date(2025, 1, 15), processor_names=("player_daily_cache",),
                                triggered_by="test", claim_id="c1")

    def handler(msg, ctx):
        ctx.publish("phase4-trigger", trigger)
        with pytest.raises(ValueError, match="does not publish"):
            ctx.publish("prediction-request", trigger)

    make_function(services, handler).handle(good_delivery())
    [published] = bus.pull("trigger-inspect", timeout=0)
    decoded = decode(published.data)
    assert decoded.message == trigger
    assert decoded.envelope.correlation_id == "corr-42"
    assert decoded.envelope.producer == FUNCTION.name


def envelope_with(**overrides) -> bytes:
    return json.dumps({**json.loads(good_delivery().data), **overrides}).encode()


@pytest.mark.parametrize("data, kind, field", [
    (b"{nope", "not_json", "message.data"),
    (envelope_with(payload={"processor_name": "x"}), "payload_does_not_match_model", "payload.success"),
    (envelope_with(schema_version=99), "unknown_schema_version", "schema_version"),
    (envelope_with(message_type="Mystery"), "unknown_message_type", "message_type"),
    (encode(PrecomputeTrigger(analysis_date=date(2025, 1, 1), processor_names=("a",), triggered_by="t",
                              claim_id="c"), run_id="r", correlation_id="c").data,
     "wrong_message_type_for_topic", "message_type"),
    (b"x" * (MAX_MESSAGE_BYTES + 1), "oversize", "message.data"),
])
def test_invalid_input_is_dead_lettered_with_reason_and_acked(services, bus, data, kind, field):
    called = []
    outcome = make_function(services, lambda m, c: called.append(m)).handle(
        Delivery(data=data, attributes={"correlation_id": "corr-9"}, delivery_attempt=1))
    assert outcome is Outcome.DEAD_LETTERED and called == []
    [letter] = dead_letters(bus)
    assert (letter.error_kind, letter.error_field) == (kind, field)
    assert letter.reason and letter.source_topic == SOURCE_TOPIC and letter.function == FUNCTION.name
    assert base64.b64decode(letter.original_data_b64) == data  # nothing lost


def test_permanent_error_is_dead_lettered(services, bus):
    def handler(msg, ctx):
        raise PermanentError("date 2025-01-15 has no games")

    assert make_function(services, handler).handle(good_delivery()) is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.error_kind == "permanent_error" and "no games" in letter.reason


@pytest.mark.parametrize("error", [TransientError("firestore unavailable"), RuntimeError("bug")])
def test_other_failures_raise_so_pubsub_redelivers(services, bus, error):
    def handler(msg, ctx):
        raise error

    with pytest.raises(type(error)):
        make_function(services, handler).handle(good_delivery())
    assert dead_letters(bus) == []


@pytest.mark.parametrize("body, kind", [
    ({"message": {"data": "%%%not-base64%%%", "attributes": {}}}, "malformed_base64"),
    ({"message": {"data": 12345}}, "malformed_base64"),
    ({"message": {"data": base64.b64encode(b'{"hello": 1}').decode()}}, "bad_envelope"),
    ({"subscription": "s"}, "bad_envelope"),
    (["not", "a", "dict"], "bad_envelope"),
    (None, "bad_envelope"),
])
def test_push_bodies_that_cannot_be_unpacked_are_dead_lettered(services, bus, body, kind):
    outcome = make_function(services, lambda m, c: None).handle(delivery_from_push(body))
    assert outcome is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.error_kind == kind


def test_plain_json_in_place_of_base64_is_not_processed(services, bus):
    """A producer that forgot to base64-encode must not have its data half-understood."""
    raw = good_delivery().data.decode()
    called = []
    outcome = make_function(services, lambda m, c: called.append(m)).handle(
        delivery_from_push({"message": {"data": raw}}))
    assert outcome is Outcome.DEAD_LETTERED and called == []


def test_push_body_attributes_attempt_and_id_are_kept():
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    delivery = delivery_from_push({"message": {"data": base64.b64encode(encoded.data).decode(),
                                               "attributes": encoded.attributes, "messageId": "99"},
                                   "deliveryAttempt": 3})
    assert (delivery.delivery_attempt, delivery.message_id, delivery.problem) == (3, "99", None)
    assert delivery.attributes["correlation_id"] == "c"


def test_logs_are_cloud_logging_json_with_correlation_ids(services):
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        make_function(services, lambda m, c: None).handle(good_delivery(correlation_id="corr-log"))
    finally:
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    started = next(line for line in lines if line["message"] == "started")
    assert started["severity"] == "INFO"
    assert started["function"] == FUNCTION.name and started["correlation_id"] == "corr-log"
    assert started["run_id"] and started["logging.googleapis.com/labels"]["function"] == FUNCTION.name
    assert any(line["message"] == "finished" and "duration_ms" in line for line in lines)


def test_subscriber_on_the_embedded_bus_acks_handled_and_nacks_failures(services, bus):
    spec = SubscriptionSpec(name="fn-sub", topic=SOURCE_TOPIC, dead_letter_topic=DLQ, min_backoff_s=0,
                            max_backoff_s=0, max_delivery_attempts=5)
    bus.create_subscription(spec)
    attempts = []

    def flaky(msg, ctx):
        attempts.append(ctx.delivery_attempt)
        if len(attempts) == 1:
            raise TransientError("first try fails")

    bus.attach("fn-sub", make_function(services, flaky).on_received)
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    bus.publish(SOURCE_TOPIC, encoded.data, encoded.attributes)
    bus.drain(max_seconds=30)
    assert attempts == [1, 2]
    assert dead_letters(bus) == []
