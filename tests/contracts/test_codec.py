import base64
import json
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from shared.contracts import (AnalyticsCompleted, InvalidMessage, InvalidMessageKind as Kind, MAX_MESSAGE_BYTES,
                              PrecomputeTrigger, decode, decode_base64, encode)
from shared.contracts.registry import MODELS

GOOD = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15),
                          records_processed=212, success=True)


def envelope_dict(**overrides):
    encoded = encode(GOOD, run_id="run-1", correlation_id="corr-1", producer="test")
    return {**json.loads(encoded.data), **overrides}


def test_round_trip_keeps_ids_and_payload():
    encoded = encode(GOOD, run_id="run-1", correlation_id="corr-1", producer="test")
    decoded = decode(encoded.data)
    assert decoded.message == GOOD
    assert decoded.envelope.run_id == "run-1" and decoded.envelope.correlation_id == "corr-1"
    assert encoded.attributes["message_type"] == "AnalyticsCompleted"
    assert encoded.attributes["message_id"] == decoded.envelope.message_id


def test_every_model_is_versioned_and_distinct():
    keys = [(m.MESSAGE_TYPE, m.SCHEMA_VERSION) for m in MODELS]
    assert len(keys) == len(set(keys))
    assert all(v >= 1 for _, v in keys)


@pytest.mark.parametrize("raw, kind, field", [
    (b"\xff\xfe not utf8", Kind.NOT_JSON, "message.data"),
    (b"{not json", Kind.NOT_JSON, "message.data"),
    (b"[1, 2]", Kind.BAD_ENVELOPE, "envelope"),
    (json.dumps(envelope_dict(message_type="Nope")).encode(), Kind.UNKNOWN_TYPE, "message_type"),
    (json.dumps(envelope_dict(schema_version=7)).encode(), Kind.UNKNOWN_VERSION, "schema_version"),
    (json.dumps(envelope_dict(run_id="")).encode(), Kind.BAD_ENVELOPE, "run_id"),
    (json.dumps(envelope_dict(surprise=1)).encode(), Kind.BAD_ENVELOPE, "surprise"),
    (json.dumps(envelope_dict(payload={**GOOD.model_dump(mode="json"), "analysis_date": "2025-13-45"})).encode(),
     Kind.BAD_PAYLOAD, "payload.analysis_date"),
    (json.dumps(envelope_dict(payload={**GOOD.model_dump(mode="json"), "extra": 1})).encode(),
     Kind.BAD_PAYLOAD, "payload.extra"),
    (json.dumps(envelope_dict(payload={**GOOD.model_dump(mode="json"), "success": False})).encode(),
     Kind.BAD_PAYLOAD, "payload.error"),
    (b" " * (MAX_MESSAGE_BYTES + 1), Kind.OVERSIZE, "message.data"),
])
def test_bad_input_names_the_field_and_why(raw, kind, field):
    with pytest.raises(InvalidMessage) as caught:
        decode(raw)
    assert caught.value.kind is kind
    assert caught.value.field == field
    assert caught.value.reason


def test_wrong_message_type_for_the_function():
    with pytest.raises(InvalidMessage) as caught:
        decode(encode(GOOD, run_id="r", correlation_id="c").data, expected_type=PrecomputeTrigger.MESSAGE_TYPE)
    assert caught.value.kind is Kind.WRONG_TYPE_FOR_TOPIC


def test_oversize_outbound_message_is_refused():
    huge = AnalyticsCompleted(processor_name="x", analysis_date=date(2025, 1, 1), success=False,
                              error="e" * 4000)
    encode(huge, run_id="r", correlation_id="c")  # big but within limits
    with pytest.raises(InvalidMessage) as caught:
        encode(huge, run_id="r" * MAX_MESSAGE_BYTES, correlation_id="c")
    assert caught.value.kind is Kind.OVERSIZE


@pytest.mark.parametrize("text", ["!!!", "abc", "ñandú", 123, None])
def test_malformed_base64(text):
    with pytest.raises(InvalidMessage) as caught:
        decode_base64(text)
    assert caught.value.kind is Kind.MALFORMED_BASE64


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512))
def test_arbitrary_bytes_never_escape_as_another_error(raw):
    try:
        decode(raw)
    except InvalidMessage:
        pass


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                                           max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["envelope_version", "message_type", "schema_version", "message_id",
                                        "run_id", "correlation_id", "attempt", "produced_at", "payload"]),
                       json_values))
def test_arbitrary_envelopes_never_escape_as_another_error(fields):
    try:
        decode(json.dumps({**envelope_dict(), **fields}).encode())
    except InvalidMessage:
        pass


def test_base64_round_trip():
    assert decode_base64(base64.b64encode(b"hello").decode()) == b"hello"
