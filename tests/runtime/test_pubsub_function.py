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


# --- bad input can never raise (issue #7) ------------------------------------------------
def push(payload: bytes = b"", **message) -> dict:
    """A Pub/Sub push body carrying `payload` base64-encoded; `message` fields override any part."""
    body = {"data": base64.b64encode(payload).decode(), "messageId": "m-1", **message}
    return {"message": body, "subscription": "s"}


def good_push(**message) -> dict:
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    return push(encoded.data, **{"attributes": encoded.attributes, **message})


class Event:
    def __init__(self, data):
        self.data = data


@pytest.mark.parametrize("data", [b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000,
                                  b"[" * 500_000], ids=["arrays", "objects", "unterminated"])
def test_deeply_nested_data_is_dead_lettered_not_a_recursion_error(services, bus, data):
    outcome = make_function(services, lambda m, c: None).on_cloud_event(Event(push(data)))
    assert outcome is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert (letter.error_kind, letter.error_field) == ("too_deeply_nested", "message.data")
    assert base64.b64decode(letter.original_data_b64) == data


@pytest.mark.parametrize("attributes", [[1, 2], "correlation_id=c", 7, True,
                                        {"correlation_id": ["c"]}, {"a": {"b": None}}, {"a": None}, {"a": 1.5},
                                        {1: "one"}, {("t",): "tuple key"}])
def test_attributes_that_are_not_strings_are_dead_lettered(services, bus, attributes):
    called = []
    body = good_push(attributes=attributes)
    outcome = make_function(services, lambda m, c: called.append(m)).on_cloud_event(Event(body))
    assert outcome is Outcome.DEAD_LETTERED and called == []
    [letter] = dead_letters(bus)
    assert (letter.error_kind, letter.error_field) == ("bad_envelope", "message.attributes")
    assert "string" in letter.reason


@pytest.mark.parametrize("attempt, expected", [("abc", 1), (-3, 1), (0, 1), ([1], 1), (1e400, 1),
                                               (float("nan"), 1), (10 ** 400, 1), (True, 1), ("7", 7), (3, 3),
                                               (None, 1), ({"n": 2}, 1)])
def test_junk_delivery_attempt_falls_back_to_one(services, attempt, expected):
    seen = []
    body = {**good_push(), "deliveryAttempt": attempt}
    outcome = make_function(services, lambda m, c: seen.append(c.delivery_attempt)).on_cloud_event(Event(body))
    assert outcome is Outcome.HANDLED and seen == [expected]


@pytest.mark.parametrize("message", [
    {"attributes": {"k\ud800": "v\udfff", "correlation_id": "\udbff"}},
    {"messageId": "\ud800"},
    {"messageId": ["not", "an", "id"]},
    {"data": "\ud800 not base64"},
    {"data": {"nested": ["\udfff"]}},
])
def test_lone_surrogates_and_junk_ids_are_dead_lettered_sanitized(services, bus, message):
    body = push(b"not json", **message)
    outcome = make_function(services, lambda m, c: None).on_cloud_event(Event(body))
    assert outcome is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.reason
    json.dumps(letter.model_dump(mode="json"), ensure_ascii=False).encode()  # publishable, surrogate-free


def test_publish_dead_letter_sanitizes_what_it_cannot_encode(bus):
    from shared.runtime.dead_letters import publish_dead_letter

    publish_dead_letter(bus, source_topic=SOURCE_TOPIC, function=FUNCTION.name, error_kind="not_json",
                        reason="bad \ud800 reason", field="f\udfff", data=b"\xff\xfe raw",
                        attributes={"k\ud800": "v\udfff", "correlation_id": "\ud800"}, delivery_attempt=2)
    [received] = bus.pull("dlq-inspect", timeout=0)
    letter = decode(received.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message
    assert letter.original_attributes == {"k\ufffd": "v\ufffd", "correlation_id": "\ufffd"}
    assert letter.reason == "bad \ufffd reason" and letter.error_field == "f\ufffd"
    assert base64.b64decode(letter.original_data_b64) == b"\xff\xfe raw"  # the original bytes, untouched
    assert received.attributes["correlation_id"].isascii()  # a fresh id, not the unencodable one


def test_publish_dead_letter_keeps_huge_attributes_within_pubsub_limits(bus):
    from shared.runtime.dead_letters import publish_dead_letter

    attributes = {f"key-{i}" * 100: "v" * 50_000 for i in range(300)}
    publish_dead_letter(bus, source_topic=SOURCE_TOPIC, function=FUNCTION.name, error_kind="not_json",
                        reason="r" * 100_000, data=b"d" * 8_000_000, attributes=attributes, delivery_attempt=1)
    [received] = bus.pull("dlq-inspect", timeout=0)
    assert len(received.data) <= PUBSUB_MAX_MESSAGE_BYTES
    letter = decode(received.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message
    assert letter.details["truncated"] and letter.details["attributes_truncated"]
    assert letter.details["original_size"] == 8_000_000 and len(letter.details["original_sha256"]) == 64


@pytest.mark.parametrize("data", [b"1" * 5000, b"[NaN]", "{}".encode("utf-16")],
                         ids=["5000-digit-int", "nan", "utf-16"])
def test_json_python_would_choke_on_is_dead_lettered(services, bus, data):
    assert make_function(services, lambda m, c: None).on_cloud_event(Event(push(data))) is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.error_kind == "not_json"


def test_a_decoder_crash_is_dead_lettered_not_redelivered(services, bus, monkeypatch):
    import shared.contracts.codec as codec

    def explode(obj):
        raise OverflowError("simulated decoder bug")

    monkeypatch.setattr(codec, "_parse_envelope", explode)
    assert make_function(services, lambda m, c: None).handle(good_delivery()) is Outcome.DEAD_LETTERED
    monkeypatch.undo()  # the inspection below decodes too
    [letter] = dead_letters(bus)
    assert letter.error_kind == "undecodable" and "OverflowError" in letter.reason


def test_deep_push_bodies_themselves_are_dead_lettered(services, bus):
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    for body in (deep, {"message": deep}, {"message": {"data": deep}}, {"message": {"data": "", "attributes": deep}}):
        assert make_function(services, lambda m, c: None).on_cloud_event(Event(body)) is Outcome.DEAD_LETTERED
    assert len(dead_letters(bus)) == 4


def test_received_messages_with_junk_attributes_are_dead_lettered(services, bus):
    from datetime import datetime, timezone

    from shared.ports.bus import ReceivedMessage

    encoded = encode(GOOD, run_id="r", correlation_id="c")
    received = ReceivedMessage(message_id="\ud800", subscription="sub", data=encoded.data,
                               attributes={"correlation_id": ["c"]}, ordering_key="", delivery_attempt="x",
                               publish_time=datetime.now(timezone.utc), ack_id="a")
    assert make_function(services, lambda m, c: None).on_received(received) is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.error_field == "message.attributes" and letter.delivery_attempt == 1


def test_oversize_push_is_dead_lettered_with_its_size(services, bus):
    data = b"x" * (MAX_MESSAGE_BYTES + 1)
    assert make_function(services, lambda m, c: None).on_cloud_event(Event(push(data))) is Outcome.DEAD_LETTERED
    [letter] = dead_letters(bus)
    assert letter.error_kind == "oversize" and str(MAX_MESSAGE_BYTES + 1) in letter.reason
