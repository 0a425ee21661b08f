"""Bytes <-> (Envelope, Message). Every way input can be wrong becomes one InvalidMessage.

`decode` is total: whatever the bytes, it returns a message or raises InvalidMessage — never
RecursionError, ValueError or anything else — so untrusted input is dead-lettered, not retried.
`printable_text` turns any value into text that can always be encoded as UTF-8 (for dead letters
and logs about such input).
"""
from __future__ import annotations

import base64
import json
import re
import reprlib
from dataclasses import dataclass

from pydantic import ValidationError

from shared.contracts import registry
from shared.contracts.envelope import Envelope, Message
from shared.contracts.errors import InvalidMessage, InvalidMessageKind as Kind

# Pub/Sub allows 10 MB; our messages are small control events, so anything near this is a bug upstream.
MAX_MESSAGE_BYTES = 1_000_000
PUBSUB_MAX_MESSAGE_BYTES = 10_000_000
# Our envelopes nest 4-5 levels; the bound keeps json and pydantic far from any recursion limit.
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class EncodedMessage:
    data: bytes
    attributes: dict[str, str]


@dataclass(frozen=True)
class DecodedMessage:
    envelope: Envelope
    message: Message


def encode(message: Message, *, run_id: str, correlation_id: str, producer: str = "",
           attempt: int = 1, max_bytes: int = MAX_MESSAGE_BYTES) -> EncodedMessage:
    envelope = Envelope(message_type=message.MESSAGE_TYPE, schema_version=message.SCHEMA_VERSION,
                        run_id=run_id, correlation_id=correlation_id, producer=producer, attempt=attempt,
                        payload=message.model_dump(mode="json"))
    data = envelope.model_dump_json().encode()
    if len(data) > max_bytes:
        raise InvalidMessage(Kind.OVERSIZE, "payload", f"{len(data)} bytes exceeds {max_bytes}")
    return EncodedMessage(data=data, attributes=attributes_of(envelope))


def attributes_of(envelope: Envelope) -> dict[str, str]:
    """Pub/Sub attributes: let subscriptions filter and people read messages without decoding."""
    return {"message_type": envelope.message_type, "schema_version": str(envelope.schema_version),
            "run_id": envelope.run_id, "correlation_id": envelope.correlation_id,
            "message_id": envelope.message_id}


def decode_base64(text: str | bytes) -> bytes:
    """Bytes, or InvalidMessage for any value that is not base64 text (of any type at all)."""
    try:
        return base64.b64decode(text, validate=True)
    except Exception as err:  # binascii.Error, ValueError, TypeError: whatever the value was
        raise InvalidMessage(Kind.MALFORMED_BASE64, "message.data",
                             f"not valid base64: {printable_text(err, 500)}") from None


def decode(data: bytes, *, expected_type: str | None = None, max_bytes: int = MAX_MESSAGE_BYTES) -> DecodedMessage:
    """The message in `data`, or InvalidMessage saying which field is wrong and why (nothing else)."""
    try:
        return _decode(data, expected_type, max_bytes)
    except InvalidMessage:
        raise
    except Exception as err:  # the decoder itself failed on hostile input: still a dead letter, never a retry
        raise InvalidMessage(Kind.UNDECODABLE, "message.data",
                             f"decoding failed with {type(err).__name__}: {printable_text(err, 500)}") from None


def _decode(data: bytes, expected_type: str | None, max_bytes: int) -> DecodedMessage:
    if len(data) > max_bytes:
        raise InvalidMessage(Kind.OVERSIZE, "message.data", f"{len(data)} bytes exceeds {max_bytes}")
    envelope = _parse_envelope(_parse_json(data))
    model = _model_of(envelope)
    if expected_type and envelope.message_type != expected_type:
        raise InvalidMessage(Kind.WRONG_TYPE_FOR_TOPIC, "message_type",
                             f"got {envelope.message_type}, this function takes {expected_type}")
    try:
        message = model.model_validate(envelope.payload)
    except ValidationError as err:
        field, reason = _first_problem(err)
        raise InvalidMessage(Kind.BAD_PAYLOAD, f"payload.{field}", reason) from None
    return DecodedMessage(envelope=envelope, message=message)


def _parse_json(data: bytes) -> object:
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidMessage(Kind.NOT_JSON, "message.data", f"not UTF-8: {err}") from None
    _refuse_deep_nesting(text)
    try:
        obj = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as err:  # JSONDecodeError, NaN/Infinity, integers beyond Python's digit limit
        raise InvalidMessage(Kind.NOT_JSON, "message.data", f"not JSON: {printable_text(err, 500)}") from None
    if "\\u" in text:  # lone surrogates can only arrive as \u escapes: the text itself is valid UTF-8
        _refuse_lone_surrogates(obj, ())
    return obj


def _refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON value")


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def _refuse_deep_nesting(text: str) -> None:
    """Counted on the text before parsing (strings removed), so no parser ever recurses deeply."""
    depth = 0
    for bracket in _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_JSON_DEPTH:
            raise InvalidMessage(Kind.TOO_DEEP, "message.data",
                                 f"JSON nested deeper than {MAX_JSON_DEPTH} levels; messages are flat records")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse_lone_surrogates(obj: object, path: tuple[str, ...]) -> None:
    """A lone UTF-16 surrogate (e.g. "\\ud800") parses, but can never be encoded as UTF-8 again:
    publishing, storing or logging the message downstream would fail on every retry."""
    if isinstance(obj, str):
        if _LONE_SURROGATE.search(obj):
            raise InvalidMessage(Kind.UNENCODABLE_TEXT, _dotted(path),
                                 "contains a lone UTF-16 surrogate, which is not text: fix the producer's encoding")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            _refuse_lone_surrogates(key, path + (key,))
            _refuse_lone_surrogates(value, path + (key,))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            _refuse_lone_surrogates(value, path + (str(index),))


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(_escaped(part) for part in path) or "envelope"


def _escaped(text: str) -> str:
    return _LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _parse_envelope(obj: object) -> Envelope:
    try:
        return Envelope.model_validate(obj)
    except ValidationError as err:
        field, reason = _first_problem(err)
        raise InvalidMessage(Kind.BAD_ENVELOPE, "envelope" if field == "<root>" else field, reason) from None


def _model_of(envelope: Envelope) -> type[Message]:
    if not registry.is_known_type(envelope.message_type):
        raise InvalidMessage(Kind.UNKNOWN_TYPE, "message_type", f"no contract named {envelope.message_type!r}")
    model = registry.model_for(envelope.message_type, envelope.schema_version)
    if model is None:
        known = registry.known_versions(envelope.message_type)
        raise InvalidMessage(Kind.UNKNOWN_VERSION, "schema_version",
                             f"{envelope.message_type} v{envelope.schema_version} is unknown; known: {known}")
    return model


def _first_problem(err: ValidationError) -> tuple[str, str]:
    problems = err.errors(include_url=False)
    first = problems[0]
    field = ".".join(str(p) for p in first["loc"]) or "<root>"
    reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in problems[:5])
    return field, reasons




_SAFE_REPR = reprlib.Repr()
_SAFE_REPR.maxlevel, _SAFE_REPR.maxstring, _SAFE_REPR.maxother = 3, 200, 200


def printable_text(value: object, limit: int = 1000) -> str:
    """Any value as text that can always be encoded as UTF-8 (lone surrogates become U+FFFD),
    at most `limit` characters (clipped with "…"). Never raises, whatever the value."""
    try:
        text = value if isinstance(value, str) else str(value) if isinstance(value, BaseException) \
            else _SAFE_REPR.repr(value)
    except Exception:  # e.g. an int beyond the digit limit, a hostile __repr__
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[:max(limit - 1, 0)] + "…"
    return _LONE_SURROGATE.sub("\ufffd", text)
