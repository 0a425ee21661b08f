"""Dead letters: what could not be processed, with the reason, never lost.

The runtime publishes a `DeadLetter` to `<topic>-dead-letter` for input that can never
succeed; Pub/Sub itself forwards the original message there after max delivery attempts.
`DeadLetterRecorder` keeps both kinds in the document store so `status` and replay can read them.

Dead-lettering is total: whatever arrived (lone surrogates, attributes of any size, megabytes
of data) the letter is sanitised to what Pub/Sub can carry — text made UTF-8-safe, attributes
cut to Pub/Sub's own limits, the original bytes kept base64 (a prefix plus size and SHA-256
when even that would not fit) — so publishing it can only fail for reasons of the bus itself.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from shared.contracts.codec import PUBSUB_MAX_MESSAGE_BYTES, EncodedMessage, decode, encode, printable_text
from shared.contracts.envelope import new_id, utc_now
from shared.contracts.errors import InvalidMessage, InvalidMessageKind
from shared.contracts.messages import DeadLetter
from shared.metrics.recorder import record_quietly
from shared.ports.bus import MessageBus, ReceivedMessage
from shared.ports.documents import DocumentStore
from shared.topology.model import DEAD_LETTER_SUFFIX

if TYPE_CHECKING:
    from shared.config import Settings

COLLECTION = "dead_letters"
MAX_ORIGINAL_BYTES = 7_000_000  # base64 grows by 4/3: this still fits one Pub/Sub message
FALLBACK_ORIGINAL_BYTES = 1_000_000  # when the rest of the letter leaves no room for 7 MB
# Pub/Sub's own attribute limits: any real message's attributes are kept whole.
MAX_ATTRIBUTES, MAX_ATTRIBUTE_KEY_CHARS, MAX_ATTRIBUTE_VALUE_CHARS = 100, 256, 1024
MAX_REASON_CHARS = 4000
MAX_ATTEMPTS_KIND = "max_delivery_attempts_exceeded"  # what Pub/Sub forwarded after its delivery attempts
_PLAIN_ID = re.compile(r"[\x21-\x7e]{1,128}")
log = logging.getLogger("sportsflow.runtime.dead_letters")


def date_of_original(data: bytes) -> str | None:
    """The date a dead letter's original message is about (`analysis_date` or `game_date`), if any."""
    import json
    try:
        payload = json.loads(data)["payload"]
        return payload.get("analysis_date") or payload.get("game_date")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def publish_dead_letter(bus: MessageBus, *, source_topic: str, function: str, error_kind: str, reason: str,
                        data: bytes, attributes: Mapping[str, str], delivery_attempt: int, field: str = "",
                        correlation_id: str | None = None, settings: "Settings | None" = None) -> str:
    """Publish a DeadLetter to `<source_topic>-dead-letter`; never fails on what the input contained.
    With `settings`, the `dead_letter` metric point is recorded (function, source_topic, error_kind)."""
    kept_attributes, attribute_details = _keepable_attributes(attributes)
    fields = dict(source_topic=printable_text(source_topic, 300), function=printable_text(function, 300),
                  error_kind=printable_text(error_kind, 100), error_field=printable_text(field, 500),
                  reason=printable_text(reason, MAX_REASON_CHARS), original_attributes=kept_attributes,
                  delivery_attempt=_attempt(delivery_attempt))
    correlation = _plain_id(correlation_id) or _plain_id(kept_attributes.get("correlation_id"))
    encoded = _encoded_letter(fields, _as_bytes(data), attribute_details, function=fields["function"],
                              correlation_id=correlation)
    message_id = bus.publish(dead_letter_topic(source_topic), encoded.data, encoded.attributes)
    log.warning("dead-lettered", extra={"fields": {"source_topic": fields["source_topic"], "error_kind": error_kind,
                                                   "error_field": fields["error_field"],
                                                   "reason": fields["reason"][:500],
                                                   "dead_letter_message_id": message_id}})
    if settings is not None:
        record_quietly(settings, "dead_letter", function=fields["function"], source_topic=fields["source_topic"],
                       error_kind=fields["error_kind"])
    return message_id


def _encoded_letter(fields: dict[str, Any], data: bytes, attribute_details: dict[str, Any], *, function: str,
                    correlation_id: str | None) -> EncodedMessage:
    """The encoded letter; if 7 MB of original bytes leave no room for the rest, a 1 MB prefix."""
    def encoded(limit: int) -> EncodedMessage:
        kept, details = _keepable(data, limit)
        letter = DeadLetter(**fields, original_data_b64=base64.b64encode(kept).decode(),
                            details={**details, **attribute_details})
        return encode(letter, run_id=new_id(), correlation_id=correlation_id or new_id(), producer=function,
                      max_bytes=PUBSUB_MAX_MESSAGE_BYTES)

    try:
        return encoded(MAX_ORIGINAL_BYTES)
    except InvalidMessage as err:
        if err.kind is not InvalidMessageKind.OVERSIZE:
            raise
        return encoded(FALLBACK_ORIGINAL_BYTES)


def _keepable(data: bytes, limit: int = MAX_ORIGINAL_BYTES) -> tuple[bytes, dict[str, Any]]:
    """The original bytes, unless even Pub/Sub could not carry them base64-encoded: then a
    prefix, with the size and SHA-256 of the whole so it can be matched to its source."""
    if len(data) <= limit:
        return data, {}
    return data[:limit], {"truncated": True, "original_size": len(data),
                          "original_sha256": hashlib.sha256(data).hexdigest()}


def _keepable_attributes(attributes: Any) -> tuple[dict[str, str], dict[str, Any]]:
    """Attributes as UTF-8-safe strings within Pub/Sub's limits, and what was cut, if anything."""
    items = list(attributes.items()) if isinstance(attributes, Mapping) else [("<attributes>", attributes)]
    kept = {printable_text(k, MAX_ATTRIBUTE_KEY_CHARS): printable_text(v, MAX_ATTRIBUTE_VALUE_CHARS)
            for k, v in items[:MAX_ATTRIBUTES]}
    whole = len(items) <= MAX_ATTRIBUTES and all(
        isinstance(k, str) and isinstance(v, str) and (k, v) in kept.items() for k, v in items)
    return kept, {} if whole else {"attributes_truncated": True, "original_attribute_count": len(items)}


def _as_bytes(data: Any) -> bytes:
    return bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else printable_text(data).encode()


def _attempt(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000 else 1


def _plain_id(value: Any) -> str | None:
    """An id fit to be an attribute and a log label, or None (a fresh id is used instead)."""
    return value if isinstance(value, str) and _PLAIN_ID.fullmatch(value) else None


class DeadLetterRecorder:
    """Subscriber for `*-dead-letter` topics: stores each dead letter once (idempotent by content).

    With `settings`, a letter Pub/Sub forwarded after max delivery attempts is also a `dead_letter`
    metric point, once, when first stored (the letters a function published were counted by
    publish_dead_letter; on gcp Pub/Sub's own `subscription/dead_letter_message_count` counts these)."""

    def __init__(self, documents: DocumentStore, source_topic: str, *, settings: "Settings | None" = None):
        self._documents = documents
        self._source_topic = source_topic
        self._settings = settings

    def __call__(self, received: ReceivedMessage) -> None:
        record = self._record_of(received)
        # Keyed by what failed and why, so redelivered or re-published dead letters are stored once.
        identity = f"{record['source_topic']}|{record['error_kind']}|{record['original_data_b64']}"
        created = self._documents.create(f"{COLLECTION}/{hashlib.sha256(identity.encode()).hexdigest()[:32]}",
                                         record)
        if created and self._settings is not None and record["error_kind"] == MAX_ATTEMPTS_KIND:
            record_quietly(self._settings, "dead_letter", function=record["function"],
                           source_topic=record["source_topic"], error_kind=MAX_ATTEMPTS_KIND)

    def _record_of(self, received: ReceivedMessage) -> dict[str, Any]:
        attrs, _ = _keepable_attributes(received.attributes)
        base = {"recorded_at": utc_now(), "subscription": received.subscription, "attributes": attrs}
        try:
            letter = decode(received.data, expected_type=DeadLetter.MESSAGE_TYPE,
                            max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message
            return {**base, **letter.model_dump(mode="json")}
        except InvalidMessage:
            # Forwarded by Pub/Sub after max delivery attempts: the original message as it was,
            # with the source subscription (not topic) in its attributes.
            count = attrs.get("CloudPubSubDeadLetterSourceDeliveryCount", "")
            return {**base, "source_topic": self._source_topic,
                    "function": attrs.get("CloudPubSubDeadLetterSourceSubscription", ""),
                    "error_kind": MAX_ATTEMPTS_KIND,
                    "reason": f"not acknowledged after {count or '?'} delivery attempts",
                    "original_data_b64": base64.b64encode(_as_bytes(received.data)).decode(),
                    "delivery_attempt": int(count) if count.isascii() and count.isdigit() and len(count) < 7 else 0}


def list_dead_letters(documents: DocumentStore, source_topic: str | None = None, *,
                      since: datetime | None = None) -> list[dict[str, Any]]:
    """Recorded dead letters, optionally of one source topic and/or recorded at or after `since`."""
    filters: list = [("source_topic", "==", source_topic)] if source_topic else []
    if since is not None:
        filters.append(("recorded_at", ">=", since))
    return [doc.data for doc in documents.query(COLLECTION, filters)]
