"""Message bus port: Pub/Sub semantics.

At-least-once delivery; a message not acked is redelivered after a backoff with
`delivery_attempt` incremented; after `max_delivery_attempts` it is forwarded to the
subscription's dead-letter topic. Messages sharing an ordering key (on a subscription
with ordering enabled) are delivered in publish order, one at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Protocol, Sequence

from shared.topology.model import SubscriptionSpec


@dataclass(frozen=True)
class OutboundMessage:
    topic: str
    data: bytes
    attributes: Mapping[str, str] = field(default_factory=dict)
    ordering_key: str = ""


@dataclass(frozen=True)
class ReceivedMessage:
    message_id: str
    subscription: str
    data: bytes
    attributes: Mapping[str, str]
    ordering_key: str
    delivery_attempt: int
    publish_time: datetime
    ack_id: str


class MessageBus(Protocol):
    def create_topic(self, topic: str) -> None:
        """Create the topic if absent (idempotent)."""

    def create_subscription(self, spec: SubscriptionSpec) -> None:
        """Create a pull subscription if absent, with the spec's dead-letter policy,
        retry backoff, ack deadline and ordering (idempotent)."""

    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None,
                ordering_key: str = "") -> str:
        """Publish one message and return its server-assigned message id."""

    def publish_batch(self, messages: Sequence[OutboundMessage]) -> list[str]:
        """Publish many messages (any topics); ids are returned in input order."""

    def pull(self, subscription: str, max_messages: int = 10, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Receive up to `max_messages` currently deliverable messages, waiting at most
        `timeout` seconds for the first one. Returns [] when none arrived."""

    def ack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        """Acknowledge: these deliveries are done and never redelivered."""

    def nack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        """Negative-acknowledge: redeliver after the subscription's retry backoff
        (or dead-letter once max delivery attempts are used up)."""

    def close(self) -> None:
        """Release clients/threads."""
