"""One Pub/Sub-triggered function: bytes in, handler called, failures classified.

The same object serves functions-framework (a CloudEvent made from a Pub/Sub push) and
the embedded bus (a ReceivedMessage). Outcomes:
- handled                       -> return (ack)
- input that can never parse    -> dead letter with the reason, return (ack)
- PermanentError from handler   -> dead letter with the reason, return (ack)
- anything else                 -> raise (nack: Pub/Sub redelivers, then its dead-letter policy)
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping

from shared.contracts import registry
from shared.contracts.codec import MAX_MESSAGE_BYTES, decode, decode_base64
from shared.contracts.envelope import Message
from shared.contracts.errors import InvalidMessage, InvalidMessageKind
from shared.observability.logging import log_context
from shared.ports.bus import ReceivedMessage
from shared.runtime.context import FunctionContext
from shared.runtime.dead_letters import publish_dead_letter
from shared.runtime.errors import PermanentError
from shared.topology.model import FunctionSpec, Topology

Handler = Callable[[Any, FunctionContext], Any]
log = logging.getLogger("sportsflow.runtime")


class Outcome(str, Enum):
    HANDLED = "handled"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Delivery:
    data: bytes
    attributes: Mapping[str, str]
    delivery_attempt: int = 1
    message_id: str = ""
    problem: InvalidMessage | None = None  # set when the push body itself could not be unpacked


class PubSubFunction:
    def __init__(self, spec: FunctionSpec, topology: Topology, handler: Handler,
                 services_factory: Callable[[], Any]):
        if spec.trigger_topic is None:
            raise ValueError(f"{spec.name} is not triggered by a topic")
        self.spec = spec
        self.model: type[Message] = registry.by_name(topology.topic(spec.trigger_topic).message_type)
        self._handler = handler
        self._services_factory = services_factory

    # --- the core -----------------------------------------------------------------
    def handle(self, delivery: Delivery) -> Outcome:
        with log_context(function=self.spec.name, message_id=delivery.message_id or None,
                         delivery_attempt=delivery.delivery_attempt,
                         correlation_id=delivery.attributes.get("correlation_id")):
            try:
                if delivery.problem:
                    raise delivery.problem
                decoded = decode(delivery.data, expected_type=self.model.MESSAGE_TYPE)
            except InvalidMessage as err:
                return self._dead_letter(delivery, err.kind.value, str(err.reason), field=err.field)
            return self._run(decoded, delivery)

    def _run(self, decoded, delivery: Delivery) -> Outcome:
        ctx = FunctionContext(function=self.spec, envelope=decoded.envelope,
                              delivery_attempt=delivery.delivery_attempt, services=self._services_factory())
        with log_context(run_id=ctx.run_id, correlation_id=ctx.correlation_id,
                         upstream_run_id=decoded.envelope.run_id):
            started = time.perf_counter()
            log.info("started", extra={"fields": {"message_type": self.model.MESSAGE_TYPE}})
            try:
                self._handler(decoded.message, ctx)
            except PermanentError as err:
                return self._dead_letter(delivery, "permanent_error", str(err))
            except Exception:
                log.exception("failed; will be redelivered", extra={"fields": self._elapsed(started)})
                raise
            log.info("finished", extra={"fields": self._elapsed(started)})
            return Outcome.HANDLED

    def _dead_letter(self, delivery: Delivery, kind: str, reason: str, *, field: str = "") -> Outcome:
        publish_dead_letter(self._services_factory().bus, source_topic=self.spec.trigger_topic,
                            function=self.spec.name, error_kind=kind, reason=reason, field=field,
                            data=delivery.data, attributes=delivery.attributes,
                            delivery_attempt=delivery.delivery_attempt)
        return Outcome.DEAD_LETTERED

    @staticmethod
    def _elapsed(started: float) -> dict[str, float]:
        return {"duration_ms": round((time.perf_counter() - started) * 1000, 3)}

    # --- the two ways in ------------------------------------------------------------
    def on_cloud_event(self, cloud_event) -> Outcome:
        """functions-framework entry: the CloudEvent made from a Pub/Sub push body."""
        return self.handle(delivery_from_push(getattr(cloud_event, "data", None)))

    def on_received(self, received: ReceivedMessage) -> Outcome:
        """Embedded-bus entry."""
        return self.handle(Delivery(data=received.data, attributes=received.attributes,
                                    delivery_attempt=received.delivery_attempt, message_id=received.message_id))


def delivery_from_push(body: Any) -> Delivery:
    """The Pub/Sub push body ({"message": {"data": b64, "attributes": ...}, ...}) as a Delivery.

    A body that cannot be unpacked still becomes a Delivery (carrying the problem), so it is
    dead-lettered like any other bad input instead of crashing the worker."""
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        problem = InvalidMessage(InvalidMessageKind.BAD_ENVELOPE, "message", "push body has no 'message' object")
        return Delivery(data=repr(body).encode()[:MAX_MESSAGE_BYTES], attributes={}, problem=problem)
    attributes = {str(k): str(v) for k, v in (message.get("attributes") or {}).items()}
    attempt = int(body.get("deliveryAttempt") or message.get("deliveryAttempt") or 1)
    message_id = str(message.get("messageId") or message.get("message_id") or "")
    raw = message.get("data", "")
    try:
        data = decode_base64(raw)
    except InvalidMessage as err:
        return Delivery(data=str(raw).encode()[:MAX_MESSAGE_BYTES], attributes=attributes,
                        delivery_attempt=attempt, message_id=message_id, problem=err)
    return Delivery(data=data, attributes=attributes, delivery_attempt=attempt, message_id=message_id)
