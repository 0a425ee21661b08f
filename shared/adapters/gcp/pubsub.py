"""`MessageBus` on Google Cloud Pub/Sub, or its emulator at `endpoint` (without one, the clients
honour PUBSUB_EMULATOR_HOST as the library does).

Synchronous pull, ack, and nack as `modify_ack_deadline(0)`. Subscriptions get the spec's
dead-letter policy, retry policy, ack deadline and message ordering. Creates are idempotent.

Names: every topic and subscription name is prefixed with `prefix` (tests use a unique one);
callers always pass and receive unprefixed names, except in the dead-letter attributes
Pub/Sub itself writes (`CloudPubSubDeadLetterSourceSubscription` holds the real name).
Pub/Sub leaves `delivery_attempt` at 0 on subscriptions without a dead-letter policy.
In production the Pub/Sub service agent needs publisher on the dead-letter topic and
subscriber on the source subscription (granted in Terraform), or nothing is forwarded.
Emulator quirks: it forwards a dead letter only when the source subscription is pulled
again after the last failed attempt; redelivery backoff is ~2 s whatever the policy says.
Against the emulator the client library opens a plain gRPC channel with gRPC's default 4 MB
receive limit (the real service's channel has none), so a pull of a larger message — Pub/Sub
allows 10 MB — fails with ResourceExhausted on every redelivery and stalls the subscription;
the emulator channels (shared.adapters.gcp.clients) are opened without that limit.
"""
from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Mapping, Sequence

from google.api_core import exceptions
from google.cloud import pubsub_v1
from google.protobuf import duration_pb2
from google.pubsub_v1.types import DeadLetterPolicy, PushConfig, RetryPolicy, Subscription
from google.pubsub_v1.types import ReceivedMessage as PubsubReceivedMessage

from shared.adapters.gcp.clients import publisher_client, subscriber_client
from shared.ports.bus import OutboundMessage, ReceivedMessage
from shared.topology.model import SubscriptionSpec

EMPTY_PULL_FIRST_PAUSE_S = 0.01
EMPTY_PULL_MAX_PAUSE_S = 0.1


class PubSubBus:
    def __init__(self, project: str, *, prefix: str = "", publish_timeout_s: float = 30.0,
                 publisher: pubsub_v1.PublisherClient | None = None,
                 subscriber: pubsub_v1.SubscriberClient | None = None, endpoint: str | None = None) -> None:
        """`endpoint`: an emulator's host:port; None: Pub/Sub itself, or PUBSUB_EMULATOR_HOST when set."""
        self.project = project
        self.prefix = prefix
        self._publish_timeout_s = publish_timeout_s
        self._publisher = publisher or publisher_client(
            endpoint, pubsub_v1.types.PublisherOptions(enable_message_ordering=True))
        self._subscriber = subscriber or emulator_subscriber(endpoint) or pubsub_v1.SubscriberClient()

    # --- names -----------------------------------------------------------------------------
    def topic_path(self, topic: str) -> str:
        return self._publisher.topic_path(self.project, self.prefix + topic)

    def subscription_path(self, subscription: str) -> str:
        return self._subscriber.subscription_path(self.project, self.prefix + subscription)

    # --- administration ----------------------------------------------------------------------
    def create_topic(self, topic: str) -> None:
        try:
            self._publisher.create_topic(name=self.topic_path(topic))
        except exceptions.AlreadyExists:
            pass

    def create_subscription(self, spec: SubscriptionSpec, *, push_endpoint: str | None = None) -> None:
        """Idempotent (an existing subscription is left as it is, except that `push_endpoint`, when
        given, replaces its push endpoint). The dead-letter topic is created if absent: Pub/Sub
        forwards nothing to a topic that does not exist. `push_endpoint`: a push subscription
        delivering there (`sportsflow dev up`); without it, a pull subscription."""
        if spec.dead_letter_topic:
            self.create_topic(spec.dead_letter_topic)
        subscription = self._subscription_of(spec, push_endpoint)
        try:
            self._subscriber.create_subscription(request=subscription)
        except exceptions.AlreadyExists:
            if push_endpoint:
                self._subscriber.modify_push_config(request={"subscription": subscription.name,
                                                             "push_config": subscription.push_config})
        except exceptions.NotFound as err:
            raise LookupError(f"topic {spec.topic!r} does not exist (subscription {spec.name!r})") from err

    def _subscription_of(self, spec: SubscriptionSpec, push_endpoint: str | None = None) -> Subscription:
        dead_letter = DeadLetterPolicy(dead_letter_topic=self.topic_path(spec.dead_letter_topic),
                                       max_delivery_attempts=spec.max_delivery_attempts) \
            if spec.dead_letter_topic else None
        return Subscription(
            name=self.subscription_path(spec.name),
            topic=self.topic_path(spec.topic),
            ack_deadline_seconds=spec.ack_deadline_s,
            enable_message_ordering=spec.enable_ordering,
            retry_policy=RetryPolicy(minimum_backoff=_duration(spec.min_backoff_s),
                                     maximum_backoff=_duration(spec.max_backoff_s)),
            dead_letter_policy=dead_letter,
            push_config=PushConfig(push_endpoint=push_endpoint) if push_endpoint else None,
        )

    # --- publishing --------------------------------------------------------------------------
    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None,
                ordering_key: str = "") -> str:
        return self.publish_batch([OutboundMessage(topic, data, attributes or {}, ordering_key)])[0]

    def publish_batch(self, messages: Sequence[OutboundMessage]) -> list[str]:
        """All are handed to the client first (it batches them), then awaited in order."""
        futures = [(m, self._publisher.publish(self.topic_path(m.topic), m.data, ordering_key=m.ordering_key,
                                               **{str(k): str(v) for k, v in m.attributes.items()}))
                   for m in messages]
        ids: list[str] = []
        for message, future in futures:
            try:
                ids.append(future.result(timeout=self._publish_timeout_s))
            except Exception as err:
                if message.ordering_key:
                    # The client pauses a key after a failure; without this it rejects the key forever.
                    self._publisher.resume_publish(self.topic_path(message.topic), message.ordering_key)
                if isinstance(err, exceptions.NotFound):
                    raise LookupError(f"topic {message.topic!r} does not exist") from err
                raise
        return ids

    # --- consuming ---------------------------------------------------------------------------
    def pull(self, subscription: str, max_messages: int = 10, timeout: float = 5.0) -> list[ReceivedMessage]:
        path = self.subscription_path(subscription)
        deadline = time.monotonic() + timeout
        pause = EMPTY_PULL_FIRST_PAUSE_S
        while True:
            remaining = deadline - time.monotonic()
            try:
                response = self._subscriber.pull(
                    request={"subscription": path, "max_messages": max_messages},
                    timeout=max(remaining, 0.1), retry=None)
                received = list(response.received_messages)
            except exceptions.DeadlineExceeded:
                received = []
            # The server may answer empty before our timeout; ask again until it has passed. The
            # emulator answers an empty pull at once: without a pause each idle puller would
            # spin ~200 pulls a second, starving the handlers of CPU on both sides.
            remaining = deadline - time.monotonic()
            if received or remaining <= 0:
                return [self._received(subscription, m) for m in received]
            time.sleep(min(pause, remaining))
            pause = min(pause * 2, EMPTY_PULL_MAX_PAUSE_S)

    @staticmethod
    def _received(subscription: str, received: PubsubReceivedMessage) -> ReceivedMessage:
        message = received.message
        return ReceivedMessage(
            message_id=message.message_id, subscription=subscription, data=message.data,
            attributes=dict(message.attributes), ordering_key=message.ordering_key,
            delivery_attempt=received.delivery_attempt, publish_time=message.publish_time,
            ack_id=received.ack_id)

    def ack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        if ack_ids:
            self._subscriber.acknowledge(request={"subscription": self.subscription_path(subscription),
                                                  "ack_ids": list(ack_ids)})

    def nack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        if ack_ids:
            self._subscriber.modify_ack_deadline(request={"subscription": self.subscription_path(subscription),
                                                          "ack_ids": list(ack_ids), "ack_deadline_seconds": 0})

    def close(self) -> None:
        self._publisher.stop()
        self._subscriber.close()


def emulator_subscriber(endpoint: str | None = None) -> pubsub_v1.SubscriberClient | None:
    """On the emulator (`endpoint`, else PUBSUB_EMULATOR_HOST): a subscriber whose channel receives
    messages of any size, as the library's channel to the real service does. None otherwise."""
    host = endpoint or os.environ.get("PUBSUB_EMULATOR_HOST")
    return subscriber_client(host) if host else None


def _duration(seconds: float) -> duration_pb2.Duration:
    duration = duration_pb2.Duration()
    duration.FromTimedelta(timedelta(seconds=seconds))
    return duration
