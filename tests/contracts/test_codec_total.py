"""decode is total: whatever the bytes, it returns a message or raises InvalidMessage — never
RecursionError, ValueError, OverflowError or anything else (issue #7, "bad input can never raise")."""
import json
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from shared.contracts import AnalyticsCompleted, InvalidMessage, InvalidMessageKind as Kind, decode, encode
from shared.contracts.codec import MAX_JSON_DEPTH, decode_base64, printable_text

GOOD = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15), success=True)


def good_text() -> str:
    return encode(GOOD, run_id="run-1", correlation_id="corr-1").data.decode()


def with_payload_field(raw_json_value: str) -> bytes:
    """A valid envelope whose payload gets one more field, spliced in as raw JSON text."""
    text = good_text()
    head, _, tail = text.partition('"payload":{')
    return f'{head}"payload":{{"extra":{raw_json_value},{tail}'.encode()


def invalid(data: bytes) -> InvalidMessage:
    with pytest.raises(InvalidMessage) as caught:
        decode(data)
    return caught.value


@pytest.mark.parametrize("data", [
    b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000,
    b"[" * 200_000,  # unterminated, and deeper than any recursion limit
    with_payload_field("[" * 1000 + "]" * 1000),
], ids=["arrays", "objects", "unterminated", "inside-payload"])
def test_deep_nesting_is_refused_before_parsing(data):
    err = invalid(data)
    assert (err.kind, err.field) == (Kind.TOO_DEEP, "message.data")
    assert str(MAX_JSON_DEPTH) in err.reason


def test_nesting_within_the_limit_is_parsed_as_usual():
    err = invalid(with_payload_field("[" * (MAX_JSON_DEPTH - 4) + "]" * (MAX_JSON_DEPTH - 4)))
    assert (err.kind, err.field) == (Kind.BAD_PAYLOAD, "payload.extra")  # parsed; the model refuses the field


def test_brackets_inside_strings_are_not_nesting():
    failed = AnalyticsCompleted(processor_name="p", analysis_date=date(2025, 1, 15), success=False,
                                error='[{"' * 1300 + '\\"]')
    assert decode(encode(failed, run_id="r", correlation_id="c").data).message == failed


@pytest.mark.parametrize("data", [
    b"1" * 5000,  # beyond Python's 4300-digit int limit: ValueError inside json
    with_payload_field("9" * 10_000),
    b'{"x": NaN}', b"[Infinity]", b"-Infinity",  # not JSON, although Python's json accepts them
    b"\xef\xbb\xbf{}",  # a UTF-8 byte-order mark
    "{}".encode("utf-16"),  # JSON, but not UTF-8
], ids=["5000-digit-int", "10000-digit-payload-int", "nan", "infinity", "minus-infinity", "bom", "utf-16"])
def test_numbers_and_encodings_json_refuses_are_not_json(data):
    assert invalid(data).kind is Kind.NOT_JSON


@pytest.mark.parametrize("override, field", [
    ({"correlation_id": "\ud800"}, "correlation_id"),
    ({"run_id": "ok\udfffok"}, "run_id"),
    ({"payload": {"\udbff": 1}}, "payload.\\udbff"),
    ({"payload": {"processor_name": ["x", "\ud800"]}}, "payload.processor_name.1"),
])
def test_lone_surrogates_are_unencodable_text(override, field):
    data = json.dumps({**json.loads(good_text()), **override}).encode()  # ensure_ascii: "\\ud800" escapes
    err = invalid(data)
    assert (err.kind, err.field) == (Kind.UNENCODABLE_TEXT, field)
    printable_text(err.reason).encode()  # the reason itself can always be published


def test_surrogate_pairs_are_ordinary_text():
    data = json.dumps({**json.loads(good_text()), "correlation_id": "corr-\U0001F600"}).encode()
    assert "\\ud83d\\ude00" in data.decode()
    assert decode(data).envelope.correlation_id == "corr-\U0001F600"


def test_a_failing_decoder_becomes_undecodable(monkeypatch):
    import shared.contracts.codec as codec

    def explode(obj):
        raise MemoryError("simulated")

    monkeypatch.setattr(codec, "_parse_envelope", explode)
    err = invalid(encode(GOOD, run_id="r", correlation_id="c").data)
    assert err.kind is Kind.UNDECODABLE and "MemoryError" in err.reason


@pytest.mark.parametrize("value", [None, 1, 1.5, True, [1], {"a": 1}, "\ud800", "é", b"\xff", "a" * 3 + "="])
def test_base64_of_anything_is_bytes_or_invalid(value):
    try:
        assert isinstance(decode_base64(value), bytes)
    except InvalidMessage as err:
        assert err.kind is Kind.MALFORMED_BASE64


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"), ("a\ud800b", "a\ufffdb"), (12, "12"), (None, "None"), (["x"], "['x']"),
    pytest.param(10 ** 5000, "<int>", id="int-beyond-repr-limit"), ("x" * 50, "x" * 10 + "…"),
])
def test_printable_text_of_anything(value, expected):
    assert printable_text(value, limit=11 if expected.endswith("…") else 100) == expected


def test_printable_text_of_deep_structures_does_not_recurse():
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    printable_text(deep).encode()


json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12)
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)


@st.composite
def hostile_json(draw) -> bytes:
    """JSON-ish text: arbitrary values (lone surrogates escaped), deep nests, broken tails."""
    value = draw(json_values)
    text = json.dumps(value) if draw(st.booleans()) else json.dumps({**json.loads(good_text()), "payload": value})
    depth = draw(st.sampled_from([0, 0, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH + 1, 3000]))
    text = "[" * depth + text + "]" * draw(st.integers(0, depth))
    return text.encode("utf-8", "surrogatepass") + draw(st.binary(max_size=3))


@settings(max_examples=500, deadline=None)
@given(hostile_json())
def test_hostile_json_only_ever_raises_invalid_message(data):
    try:
        decode(data)
    except InvalidMessage as err:
        assert err.reason and printable_text(err.reason).encode()
