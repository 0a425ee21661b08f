"""Bytes <-> (Envelope, Message). Every way input can be wrong becomes one InvalidMessage."""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from pydantic import ValidationError

from shared.contracts import registry
from shared.contracts.envelope import Envelope, Message
from shared.contracts.errors import InvalidMessage, InvalidMessageKind as Kind

# Pub/Sub allows 10 MB; our messages are small control events, so anything near this is a bug upstream.
MAX_MESSAGE_BYTES = 1_000_000
PUBSUB_MAX_MESSAGE_BYTES = 10_000_000


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
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError) as err:
        raise InvalidMessage(Kind.MALFORMED_BASE64, "message.data", f"not valid base64: {err}") from None


def decode(data: bytes, *, expected_type: str | None = None, max_bytes: int = MAX_MESSAGE_BYTES) -> DecodedMessage:
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
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidMessage(Kind.NOT_JSON, "message.data", f"not UTF-8 JSON: {err}") from None


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


