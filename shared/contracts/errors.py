"""The one error for input that is not a valid message: it says which field and why."""
from __future__ import annotations

from enum import Enum


class InvalidMessageKind(str, Enum):
    OVERSIZE = "oversize"
    MALFORMED_BASE64 = "malformed_base64"
    NOT_JSON = "not_json"
    TOO_DEEP = "too_deeply_nested"
    UNENCODABLE_TEXT = "unencodable_text"
    BAD_ENVELOPE = "bad_envelope"
    UNKNOWN_TYPE = "unknown_message_type"
    UNKNOWN_VERSION = "unknown_schema_version"
    BAD_PAYLOAD = "payload_does_not_match_model"
    WRONG_TYPE_FOR_TOPIC = "wrong_message_type_for_topic"
    UNDECODABLE = "undecodable"  # the decoder itself failed on this input (a bug to report, the input kept)


class InvalidMessage(ValueError):
    """Input that can never be processed: retrying will not help, so it is dead-lettered."""

    def __init__(self, kind: InvalidMessageKind, field: str, reason: str):
        self.kind = kind
        self.field = field
        self.reason = reason
        super().__init__(f"{kind.value}: field {field!r}: {reason}")

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind.value, "field": self.field, "reason": self.reason}
