"""Bad input can never raise (issue #7): generated push bodies and pulled messages of every
shape either reach the handler or become exactly one dead letter with a reason — the function
always returns normally.

Fast: thousands of bodies straight into PubSubFunction on the embedded bus. Emulator: a few
hundred posted to a real functions-framework process, which must answer 2xx to each and still
serve afterwards.
"""
from __future__ import annotations

import base64
import json
import time
from datetime import date, datetime, timezone

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, DeadLetter, InvalidMessage, MAX_MESSAGE_BYTES, decode, encode
from shared.contracts.codec import MAX_JSON_DEPTH, PUBSUB_MAX_MESSAGE_BYTES
from shared.ports.bus import ReceivedMessage
from shared.runtime import Outcome, PubSubFunction, delivery_from_push
from shared.topology import TOPOLOGY, SubscriptionSpec
from tests.runtime.test_functions_framework_push import pushed_function  # noqa: F401  (a fixture)

FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")
SOURCE = FUNCTION.trigger_topic
DLQ = f"{SOURCE}-dead-letter"

# --- strategies ------------------------------------------------------------------------------
lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
texts = st.text(st.characters() | lone_surrogates, max_size=12)
json_leaves = (st.none() | st.booleans() | st.integers() | st.integers(-10 ** 40, 10 ** 40)
               | st.floats(allow_nan=False, allow_infinity=False) | texts)
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(texts, inner, max_size=4), max_leaves=8)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def deep_value(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def good_envelope(**payload_overrides) -> dict:
    message = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15),
                                 success=True, records_processed=3)
    envelope = json.loads(encode(message, run_id="run-t", correlation_id="corr-t").data)
    envelope["payload"].update(payload_overrides)
    return envelope


payload_fields = st.fixed_dictionaries({}, optional={
    "processor_name": st.from_regex(r"\A[a-z][a-z0-9_]{0,12}\Z").filter(lambda n: n != "fails_once") | texts,
    "analysis_date": st.dates().map(str) | texts | json_values,
    "success": st.booleans() | json_values,
    "records_processed": st.integers(-5, 10 ** 6) | json_values,
    "error": st.none() | texts,
    "surprise": json_values,
})
envelopes = st.builds(lambda overrides: good_envelope(**overrides), payload_fields)
envelope_bytes = st.one_of(
    envelopes.map(lambda e: json.dumps(e).encode()),  # valid, or a payload the model refuses
    st.builds(lambda e, key, value: json.dumps({**e, key: value}).encode(), envelopes,
              st.sampled_from(["message_type", "schema_version", "run_id", "correlation_id", "attempt",
                               "produced_at", "payload", "envelope_version", "extra"]), json_values),
    st.integers(MAX_JSON_DEPTH - 3, 3000).map(lambda d: nested(d).encode()),
    st.integers(MAX_JSON_DEPTH - 3, 3000).map(lambda d: json.dumps(good_envelope())[:-1].encode()
                                               + f', "deep": {nested(d)}}}'.encode()),
    st.binary(max_size=64),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.just(b"x" * (MAX_MESSAGE_BYTES + 1)),
    st.just(b"1" * 5000),
)
data_fields = st.one_of(
    envelope_bytes.map(lambda b: base64.b64encode(b).decode()),  # what Pub/Sub sends
    texts,  # not base64
    json_values,  # not even a string
)
attribute_fields = st.one_of(
    st.none(),
    st.dictionaries(texts, texts, max_size=5),
    st.dictionaries(texts, json_values, max_size=3),
    json_values,
)
attempt_fields = st.one_of(st.integers(-5, 200), st.integers(10 ** 20, 10 ** 30), json_values,
                           st.floats(), st.just(float("inf")))
extra_message_fields = st.dictionaries(st.sampled_from(["publishTime", "orderingKey", "message_id", "x"]),
                                       json_values, max_size=2)


valid_messages = st.builds(
    AnalyticsCompleted, processor_name=st.from_regex(r"\A[a-z][a-z0-9_]{0,20}\Z").filter(lambda n: n != "fails_once"),
    analysis_date=st.dates(), success=st.just(True), records_processed=st.integers(0, 10 ** 9),
    error=st.none() | st.text(max_size=30))
valid_envelope_bytes = st.builds(lambda m, c: encode(m, run_id="r", correlation_id=c).data, valid_messages,
                                st.text(min_size=1, max_size=30))
valid_data_fields = valid_envelope_bytes.map(lambda b: base64.b64encode(b).decode())


@st.composite
def push_bodies(draw, data=data_fields, attributes=attribute_fields) -> dict:
    """What functions-framework hands the function: `subscription`, and a `message` with `data`
    and `messageId` keys (their values, and everything else, arbitrary)."""
    message = {"data": draw(data), "messageId": draw(st.text(max_size=20) | json_values),
               **draw(extra_message_fields)}
    attributes = draw(attributes)
    if attributes is not None or draw(st.booleans()):
        message["attributes"] = attributes
    body = {"message": message, "subscription": draw(texts)}
    if draw(st.booleans()):
        body["deliveryAttempt"] = draw(attempt_fields)
    return body


# Good data with junk around it (ids, attempts, surrogates in attribute strings): must be handled.
valid_push_bodies = push_bodies(data=valid_data_fields,
                                attributes=st.none() | st.dictionaries(texts, texts, max_size=5))
any_bodies = st.one_of(valid_push_bodies, push_bodies(), json_values,
                       st.builds(lambda m: {"message": m}, json_values),
                       st.integers(100, 3000).map(deep_value),
                       st.builds(lambda body, d: {**body, "message": {**body["message"], "attributes": deep_value(d)}},
                                 push_bodies(), st.integers(100, 3000)))


def expected_outcome(body) -> Outcome:
    """What the runtime must do with the body: decoding decides, the handler accepts everything."""
    delivery = delivery_from_push(body)
    if delivery.problem:
        return Outcome.DEAD_LETTERED
    try:
        decode(delivery.data, expected_type="AnalyticsCompleted")
    except InvalidMessage:
        return Outcome.DEAD_LETTERED
    return Outcome.HANDLED


# --- in process: the embedded bus ---------------------------------------------------------------
class World:
    def __init__(self, tmp_path):
        self.bus = LocalBus()
        for topic in (SOURCE, DLQ):
            self.bus.create_topic(topic)
        self.bus.create_subscription(SubscriptionSpec(name="dlq-inspect", topic=DLQ, dead_letter_topic=None))
        services = Services.with_adapters(Settings(home=tmp_path), bus=self.bus)
        self.handled: list = []
        self.function = PubSubFunction(FUNCTION, TOPOLOGY, lambda m, c: self.handled.append(m), lambda: services)

    def dead_letters(self) -> list[DeadLetter]:
        received = self.bus.pull("dlq-inspect", max_messages=100, timeout=0)
        self.bus.ack("dlq-inspect", [m.ack_id for m in received])
        return [decode(m.data, max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message for m in received]

    def check_one_outcome(self, outcome: Outcome) -> None:
        letters, handled = self.dead_letters(), list(self.handled)
        self.handled.clear()
        if outcome is Outcome.HANDLED:
            assert len(handled) == 1 and letters == []
        else:
            assert outcome is Outcome.DEAD_LETTERED and handled == []
            [letter] = letters
            assert letter.error_kind and letter.reason and letter.source_topic == SOURCE
            base64.b64decode(letter.original_data_b64, validate=True)


class Event:
    def __init__(self, data):
        self.data = data


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("total-input"))
    yield world
    world.bus.close()


@settings(max_examples=600, deadline=None)
@given(any_bodies)
def test_any_push_body_is_handled_or_dead_lettered_never_raised(world, body):
    outcome = world.function.on_cloud_event(Event(body))
    event(outcome.value)
    assert outcome is expected_outcome(body)
    world.check_one_outcome(outcome)


received_attributes = st.one_of(st.dictionaries(texts, texts, max_size=4), attribute_fields)


@settings(max_examples=300, deadline=None)
@given(valid_envelope_bytes | envelope_bytes, received_attributes, st.integers(-3, 10) | json_values,
       texts | json_values)
def test_any_pulled_message_is_handled_or_dead_lettered_never_raised(world, data, attributes, attempt, message_id):
    received = ReceivedMessage(message_id=message_id, subscription="sub", data=data, attributes=attributes,
                               ordering_key="", delivery_attempt=attempt, publish_time=datetime.now(timezone.utc),
                               ack_id="a")
    outcome = world.function.on_received(received)
    event(outcome.value)
    world.check_one_outcome(outcome)


# --- a real functions-framework process ---------------------------------------------------------
@pytest.mark.emulator
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow, HealthCheck.data_too_large])
@given(body=st.one_of(valid_push_bodies, push_bodies()))
def test_functions_framework_answers_2xx_to_any_push_body(pushed_function, body):
    """One process for every example (the fixture is deliberately shared across them)."""
    response = pushed_function.post(body)
    assert 200 <= response.status_code < 300, response.text[:500]
    assert pushed_function.process.poll() is None
    expected = expected_outcome(body)
    event(expected.value)
    if expected is Outcome.DEAD_LETTERED:
        [letter] = pushed_function.dead_letters(expected=1, timeout=20)
        assert letter.error_kind and letter.reason and letter.function == FUNCTION.name
    else:
        envelope_id = decode(delivery_from_push(body).data).envelope.message_id
        assert (pushed_function.state / f"{envelope_id}.handled").exists()


@pytest.mark.emulator
def test_functions_framework_still_serves_after_hostile_bodies(pushed_function):
    hostile = [{"subscription": "s", "message": {"data": base64.b64encode(nested(n).encode()).decode(),
                                                 "messageId": "d", "attributes": {"k\ud800": ["v"]}}}
               for n in (500, 5000, 100_000)]
    for body in hostile:
        assert pushed_function.post(body).status_code == 200
    good = encode(AnalyticsCompleted(processor_name="after_the_storm", analysis_date=date(2025, 1, 15),
                                     success=True), run_id="r", correlation_id="c")
    response = pushed_function.post({"subscription": "s", "message": {
        "data": base64.b64encode(good.data).decode(), "messageId": "good", "attributes": good.attributes}})
    assert response.status_code == 200 and pushed_function.process.poll() is None
    handled = pushed_function.state / f"{good.attributes['message_id']}.handled"
    deadline = time.monotonic() + 10
    while not handled.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert handled.exists()
    assert len(pushed_function.dead_letters(expected=3)) == 3
