"""Dead letters: what could not be processed, with the reason, never lost.

The runtime publishes a `DeadLetter` to `<topic>-dead-letter` for input that can never
succeed; Pub/Sub itself forwards the original message there after max delivery attempts.
`DeadLetterRecorder` keeps both kinds in the document store so `status` and replay can read them.
"""
from __future__ import annotations

import base64
import hashlib
import logging
from datetime import datetime
from typing import Any, Mapping

from shared.contracts.codec import PUBSUB_MAX_MESSAGE_BYTES, decode, encode
from shared.contracts.envelope import new_id, utc_now
from shared.contracts.errors import InvalidMessage
from shared.contracts.messages import DeadLetter
from shared.ports.bus import MessageBus, ReceivedMessage
from shared.ports.documents import DocumentStore
from shared.topology.model import DEAD_LETTER_SUFFIX

COLLECTION = "dead_letters"
MAX_ORIGINAL_BYTES = 7_000_000  # base64 grows by 4/3: this still fits one Pub/Sub message
log = logging.getLogger("sportsflow.runtime.dead_letters")


def dead_letter_topic(topic: str) -> str:
    return f"{topic}{DEAD_LETTER_SUFFIX}"


def publish_dead_letter(bus: MessageBus, *, source_topic: str, function: str, error_kind: str, reason: str,
                        data: bytes, attributes: Mapping[str, str], delivery_attempt: int, field: str = "",
                        correlation_id: str | None = None) -> str:
    kept, details = _keepable(data)
    letter = DeadLetter(source_topic=source_topic, function=function, error_kind=error_kind, error_field=field,
                        reason=reason[:4000], original_data_b64=base64.b64encode(kept).decode(),
                        original_attributes=dict(attributes), delivery_attempt=delivery_attempt, details=details)
    encoded = encode(letter, run_id=new_id(), correlation_id=correlation_id or attributes.get("correlation_id")
                     or new_id(), producer=function, max_bytes=PUBSUB_MAX_MESSAGE_BYTES)
    message_id = bus.publish(dead_letter_topic(source_topic), encoded.data, encoded.attributes)
    log.warning("dead-lettered", extra={"fields": {"source_topic": source_topic, "error_kind": error_kind,
                                                   "error_field": field, "reason": reason[:500],
                                                   "dead_letter_message_id": message_id}})
    return message_id


def _keepable(data: bytes) -> tuple[bytes, dict[str, Any]]:
    """The original bytes, unless even Pub/Sub could not carry them base64-encoded: then a
    prefix, with the size and SHA-256 of the whole so it can be matched to its source."""
    if len(data) <= MAX_ORIGINAL_BYTES:
        return data, {}
    return data[:MAX_ORIGINAL_BYTES], {"truncated": True, "original_size": len(data),
                                       "original_sha256": hashlib.sha256(data).hexdigest()}


class DeadLetterRecorder:
    """Subscriber for `*-dead-letter` topics: stores each dead letter once (idempotent by content)."""

    def __init__(self, documents: DocumentStore, source_topic: str):
        self._documents = documents
        self._source_topic = source_topic

    def __call__(self, received: ReceivedMessage) -> None:
        record = self._record_of(received)
        # Keyed by what failed and why, so redelivered or re-published dead letters are stored once.
        identity = f"{record['source_topic']}|{record['error_kind']}|{record['original_data_b64']}"
        self._documents.create(f"{COLLECTION}/{hashlib.sha256(identity.encode()).hexdigest()[:32]}", record)

    def _record_of(self, received: ReceivedMessage) -> dict[str, Any]:
        attrs = dict(received.attributes)
        base = {"recorded_at": utc_now(), "subscription": received.subscription, "attributes": attrs}
        try:
            letter = decode(received.data, expected_type=DeadLetter.MESSAGE_TYPE,
                            max_bytes=PUBSUB_MAX_MESSAGE_BYTES).message
            return {**base, **letter.model_dump(mode="json")}
        except InvalidMessage:
            # Forwarded by Pub/Sub after max delivery attempts: the original message as it was,
            # with the source subscription (not topic) in its attributes.
            return {**base, "source_topic": self._source_topic,
                    "function": attrs.get("CloudPubSubDeadLetterSourceSubscription", ""),
                    "error_kind": "max_delivery_attempts_exceeded",
                    "reason": f"not acknowledged after {attrs.get('CloudPubSubDeadLetterSourceDeliveryCount', '?')}"
                              " delivery attempts",
                    "original_data_b64": base64.b64encode(received.data).decode(),
                    "delivery_attempt": int(attrs.get("CloudPubSubDeadLetterSourceDeliveryCount", 0) or 0)}


def list_dead_letters(documents: DocumentStore, source_topic: str | None = None, *,
                      since: datetime | None = None) -> list[dict[str, Any]]:
    """Recorded dead letters, optionally of one source topic and/or recorded at or after `since`."""
    filters: list = [("source_topic", "==", source_topic)] if source_topic else []
    if since is not None:
        filters.append(("recorded_at", ">=", since))
    return [doc.data for doc in documents.query(COLLECTION, filters)]
