"""One Pub/Sub-triggered function: bytes in, handler called, failures classified.

The same object serves functions-framework (a CloudEvent made from a Pub/Sub push) and
the embedded bus (a ReceivedMessage). Outcomes:
- handled                       -> return (ack)
- input that can never parse    -> dead letter with the reason, return (ack)
- PermanentError from handler   -> dead letter with the reason, return (ack)
- anything else                 -> raise (nack: Pub/Sub redelivers, then its dead-letter policy)

Unpacking is total: any push body (any JSON value, attributes of any type, junk delivery
attempts and ids, lone surrogates, any depth or size) becomes a Delivery, and bad input only
ever becomes a dead letter — only the handler's own non-permanent failures raise.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping

from shared.contracts import registry
from shared.contracts.codec import decode, decode_base64, printable_text
from shared.contracts.envelope import Message
from shared.contracts.errors import InvalidMessage, InvalidMessageKind
from shared.metrics import invocations
from shared.metrics.recorder import record_quietly
from shared.observability.logging import log_context
from shared.observability.rate_log import RateLog
from shared.ports.bus import ReceivedMessage
from shared.runtime.context import FunctionContext
from shared.runtime.dead_letters import publish_dead_letter
from shared.runtime.errors import PermanentError
from shared.topology.model import FunctionSpec, Topology

Handler = Callable[[Any, FunctionContext], Any]
log = logging.getLogger("sportsflow.runtime")
MAX_DELIVERY_ATTEMPT = 10_000  # Pub/Sub stops at 100; anything beyond is not a delivery count
LOG_ID_CHARS = 200


class Outcome(str, Enum):
    HANDLED = "handled"
    DEAD_LETTERED = "dead_lettered"


_INVOCATION_OUTCOME = {Outcome.HANDLED: invocations.OK, Outcome.DEAD_LETTERED: invocations.DEAD_LETTERED}


@dataclass(frozen=True)
class Delivery:
    data: bytes
    attributes: Mapping[str, str]
    delivery_attempt: int = 1
    message_id: str = ""
    problem: InvalidMessage | None = None  # set when the push body itself could not be unpacked


def invocation_rate_log(spec: FunctionSpec) -> RateLog | None:
    """Functions the topology marks `invocation_log="aggregated"` (called hundreds of times a
    second) log their invocations as one "invocations" line per 100 or 30 s, by outcome; their
    per-invocation lines go to DEBUG. None: each invocation logs at INFO."""
    if spec.invocation_log != "aggregated":
        return None
    return RateLog(logging.getLogger("sportsflow.runtime"), "invocations", counts_field="outcomes", function=spec.name)


class PubSubFunction:
    def __init__(self, spec: FunctionSpec, topology: Topology, handler: Handler,
                 services_factory: Callable[[], Any], *, topic: str | None = None):
        """`topic`: for an HTTP function's push route (e.g. the Phase 5 coordinator's /ready),
        the topic pushed to it; a topic function is triggered by its own."""
        self.topic = topic or spec.trigger_topic
        if self.topic is None:
            raise ValueError(f"{spec.name} is not triggered by a topic")
        self.spec = spec
        self.model: type[Message] = registry.by_name(topology.topic(self.topic).message_type)
        self._handler = handler
        self._services_factory = services_factory
        self._invocations_log = invocation_rate_log(spec)
        self._each_level = logging.INFO if self._invocations_log is None else logging.DEBUG

    # --- the core -----------------------------------------------------------------
    def handle(self, delivery: Delivery) -> Outcome:
        started, outcome = time.perf_counter(), invocations.RETRIED  # unless it returns
        try:
            result = self._handle(delivery)
            outcome = _INVOCATION_OUTCOME[result]
            return result
        finally:
            invocations.record_invocation(self._services_factory, self.spec.name, outcome, started, trigger="pubsub")
            if self._invocations_log is not None:
                self._invocations_log.record(outcome)

    def _handle(self, delivery: Delivery) -> Outcome:
        with log_context(function=self.spec.name, message_id=_log_id(delivery.message_id),
                         delivery_attempt=delivery.delivery_attempt,
                         correlation_id=_log_id(delivery.attributes.get("correlation_id"))):
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
            log.log(self._each_level, "started", extra={"fields": {"message_type": self.model.MESSAGE_TYPE}})
            try:
                self._handler(decoded.message, ctx)
            except PermanentError as err:
                return self._dead_letter(delivery, "permanent_error", str(err))
            except Exception as err:
                log.exception("failed; will be redelivered", extra={"fields": self._elapsed(started)})
                record_quietly(ctx.services.settings, "retry", function=self.spec.name, topic=self.topic,
                               error=type(err).__name__, delivery_attempt=delivery.delivery_attempt)
                raise
            log.log(self._each_level, "finished", extra={"fields": self._elapsed(started)})
            return Outcome.HANDLED

    def _dead_letter(self, delivery: Delivery, kind: str, reason: str, *, field: str = "") -> Outcome:
        services = self._services_factory()
        publish_dead_letter(services.bus, source_topic=self.topic,
                            function=self.spec.name, error_kind=kind, reason=reason, field=field,
                            data=delivery.data, attributes=delivery.attributes,
                            delivery_attempt=delivery.delivery_attempt, settings=services.settings)
        return Outcome.DEAD_LETTERED

    @staticmethod
    def _elapsed(started: float) -> dict[str, float]:
        return {"duration_ms": round((time.perf_counter() - started) * 1000, 3)}

    # --- the two ways in ------------------------------------------------------------
    def on_cloud_event(self, cloud_event) -> Outcome:
        """functions-framework entry: the CloudEvent made from a Pub/Sub push body."""
        return self.handle(delivery_from_push(_event_data(cloud_event)))

    def on_received(self, received: ReceivedMessage) -> Outcome:
        """Embedded-bus and pull entry."""
        return self.handle(delivery_from_received(received))


def delivery_from_received(received: ReceivedMessage) -> Delivery:
    """A pulled message as a Delivery; attributes that are not strings are a problem, not a crash."""
    attributes, problem = attributes_of(getattr(received, "attributes", None))
    return Delivery(data=_data_bytes(getattr(received, "data", b"")), attributes=attributes,
                    delivery_attempt=delivery_attempt_of(getattr(received, "delivery_attempt", 1), lowest=0),
                    message_id=_identifier(getattr(received, "message_id", "")), problem=problem)


def delivery_from_push(body: Any) -> Delivery:
    """The Pub/Sub push body ({"message": {"data": b64, "attributes": ...}, ...}) as a Delivery.

    Total: a body that cannot be unpacked still becomes a Delivery (carrying the problem), so it
    is dead-lettered like any other bad input instead of crashing the worker."""
    try:
        return _unpack_push(body)
    except Exception as err:  # anything at all the checks below did not foresee
        problem = InvalidMessage(InvalidMessageKind.BAD_ENVELOPE, "message",
                                 f"push body could not be unpacked: {type(err).__name__}: {printable_text(err, 300)}")
        return Delivery(data=_raw_bytes(body), attributes={}, problem=problem)


def _unpack_push(body: Any) -> Delivery:
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, dict):
        problem = InvalidMessage(InvalidMessageKind.BAD_ENVELOPE, "message", "push body has no 'message' object")
        return Delivery(data=_raw_bytes(body), attributes={}, problem=problem)
    attributes, problem = attributes_of(message.get("attributes"))
    attempt = delivery_attempt_of(body.get("deliveryAttempt", message.get("deliveryAttempt")))
    message_id = _identifier(message.get("messageId", message.get("message_id", "")))
    raw = message.get("data", "")
    try:
        data = decode_base64(raw)
    except InvalidMessage as err:
        return Delivery(data=_raw_bytes(raw), attributes=attributes, delivery_attempt=attempt,
                        message_id=message_id, problem=err)
    return Delivery(data=data, attributes=attributes, delivery_attempt=attempt, message_id=message_id,
                    problem=problem)


def attributes_of(raw: Any) -> tuple[dict[str, str], InvalidMessage | None]:
    """Pub/Sub attributes are an object of string -> string. Anything else is kept (as text) for
    the dead letter and reported as the problem; lone surrogates, which no Pub/Sub message can
    carry, become U+FFFD."""
    if raw is None:
        return {}, None
    if not isinstance(raw, Mapping):
        return {"<attributes>": printable_text(raw)}, _bad_attributes(f"attributes must be an object of strings, "
                                                                      f"got {type(raw).__name__}")
    attributes: dict[str, str] = {}
    problem = None
    for key, value in raw.items():
        if not (isinstance(key, str) and isinstance(value, str)) and problem is None:
            problem = _bad_attributes(f"attribute {printable_text(key, 100)!r} must map a string to a string, "
                                      f"got {type(key).__name__} -> {type(value).__name__}")
        attributes[printable_text(key, 10_000)] = printable_text(value, 100_000)
    return attributes, problem


def _bad_attributes(reason: str) -> InvalidMessage:
    return InvalidMessage(InvalidMessageKind.BAD_ENVELOPE, "message.attributes", reason)


def delivery_attempt_of(value: Any, *, lowest: int = 1) -> int:
    """The delivery attempt if `value` is a sane count (an int or its digits), else 1."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= MAX_DELIVERY_ATTEMPT:
        return value
    return 1


def _identifier(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10 ** 30:
        return str(value)
    return printable_text(value, 256) if isinstance(value, str) else ""


def _log_id(value: Any) -> str | None:
    return printable_text(value, LOG_ID_CHARS) if isinstance(value, str) and value else None


def _event_data(cloud_event: Any) -> Any:
    try:
        return getattr(cloud_event, "data", None)
    except Exception:  # a hostile or broken event object: unpacking reports "no 'message' object"
        return None


def _data_bytes(data: Any) -> bytes:
    return bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else _raw_bytes(data)


def _raw_bytes(value: Any) -> bytes:
    """What arrived in place of base64 data or a push body, as bytes for the dead letter: text as
    UTF-8 (lone surrogates backslash-escaped), anything else as JSON, or as a bounded repr."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace")
    try:
        return json.dumps(value, default=printable_text).encode()
    except Exception:  # too deep to serialise, or integers beyond the digit limit
        return printable_text(value, 100_000).encode()
