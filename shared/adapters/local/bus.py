"""In-process message bus with Pub/Sub's semantics; no server.

What it honours, as Pub/Sub does: topics; subscriptions made from `SubscriptionSpec`
(a message published to a topic is copied to every subscription that existed at publish
time); at-least-once delivery; ack; nack and ack-deadline expiry both redeliver after the
retry backoff (`min_backoff_s * 2**(attempt-1)`, capped at `max_backoff_s`); after
`max_delivery_attempts` deliveries the message is forwarded to the dead-letter topic with
Pub/Sub's `CloudPubSubDeadLetterSource*` attributes; `delivery_attempt` counts deliveries
only when a dead-letter policy exists (Pub/Sub leaves it 0 otherwise); with ordering
enabled, one ordering key's messages go out in publish order, one outstanding at a time,
so a nacked one holds back the rest of its key until it is redelivered.

Two ways to consume:
- pull/ack/nack (the `MessageBus` port);
- push-style dispatch: `attach(subscription, handler)` — returning acks, raising nacks —
  then either `drain()` (synchronous and deterministic) or `start(workers=N)`/`stop()`
  (N dispatch threads, real concurrency).

Time comes from a `Clock`. The default `VirtualClock` jumps over backoffs and ack
deadlines whenever nothing else can happen, so a 600 s backoff costs nothing in a test;
`RealClock(scale)` follows wall time (optionally sped up) for threaded runs.
Faults (duplicates, reordering, lost acks) are injected from a seeded `FaultPlan`.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Mapping, Protocol, Sequence

from shared.adapters.local.bus_faults import FaultInjector, FaultPlan
from shared.ports.bus import OutboundMessage, ReceivedMessage
from shared.runtime.crash_points import SimulatedCrash
from shared.topology.model import SubscriptionSpec

log = logging.getLogger("sportsflow.bus")

Handler = Callable[[ReceivedMessage], None]

# While a handler is in flight on another thread a virtual clock must not jump (that
# handler may still publish or settle); it re-checks this often instead.
_VIRTUAL_POLL_S = 0.05


class UnknownTopic(LookupError):
    """Publishing to, or subscribing to, a topic that was never created (Pub/Sub: NOT_FOUND)."""


class UnknownSubscription(LookupError):
    """Pulling from, acking on or attaching to a subscription that was never created."""


# --- clocks ------------------------------------------------------------------------------
class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock."""

    def wall_time(self, at: float) -> datetime:
        """The UTC datetime of clock time `at` (for publish_time)."""

    def wait(self, condition: threading.Condition, until: float | None, idle: bool) -> None:
        """With `condition` held: block until clock time `until` (None: no scheduled event)
        or a notify. `idle` says no handler is running, so nothing else can change the bus."""


class VirtualClock:
    """Time that only moves when the bus has nothing else to do (or when told to)."""

    def __init__(self, start: float = 0.0, epoch: datetime | None = None) -> None:
        self._now = start
        self._epoch = epoch or datetime.now(timezone.utc)
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go back")
        with self._lock:
            self._now += seconds

    def wall_time(self, at: float) -> datetime:
        return self._epoch + timedelta(seconds=at)

    def wait(self, condition: threading.Condition, until: float | None, idle: bool) -> None:
        if idle and until is not None:
            with self._lock:
                self._now = max(self._now, until)
            return
        condition.wait(_VIRTUAL_POLL_S)


class RealClock:
    """Wall time, optionally sped up: with scale=60 a 600 s backoff lasts 10 real seconds."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._origin = time.monotonic()
        self._epoch = datetime.now(timezone.utc)

    def now(self) -> float:
        return (time.monotonic() - self._origin) * self.scale

    def wall_time(self, at: float) -> datetime:
        return self._epoch + timedelta(seconds=at / self.scale)

    def wait(self, condition: threading.Condition, until: float | None, idle: bool) -> None:
        condition.wait(None if until is None else max(0.0, (until - self.now()) / self.scale))


# --- state -------------------------------------------------------------------------------
@dataclass(eq=False)
class _Copy:
    """One message's copy in one subscription."""
    message_id: str
    data: bytes
    attributes: Mapping[str, str]
    ordering_key: str
    published_at: float
    seq: int
    attempts: int = 0


@dataclass(eq=False)
class _Lease:
    copy: _Copy
    ack_id: str
    deadline: float


@dataclass
class _SubscriptionState:
    spec: SubscriptionSpec
    ready: list[tuple[float, int, _Copy]] = field(default_factory=list)  # heap: (ready_at, seq, copy)
    key_queues: dict[str, deque[_Copy]] = field(default_factory=dict)  # ordered key -> head first
    leases: dict[str, _Lease] = field(default_factory=dict)
    lease_deadlines: list[tuple[float, str]] = field(default_factory=list)  # heap, lazily pruned
    handler: Handler | None = None

    def is_ordered(self, copy: _Copy) -> bool:
        return self.spec.enable_ordering and bool(copy.ordering_key)

    def backoff(self, attempts: int) -> float:
        return min(self.spec.max_backoff_s, self.spec.min_backoff_s * 2 ** max(attempts - 1, 0))

    def next_lease_deadline(self) -> float | None:
        while self.lease_deadlines and self.lease_deadlines[0][1] not in self.leases:
            heapq.heappop(self.lease_deadlines)
        return self.lease_deadlines[0][0] if self.lease_deadlines else None

    def next_event(self) -> float | None:
        times = [t for t in (self.ready[0][0] if self.ready else None, self.next_lease_deadline()) if t is not None]
        return min(times, default=None)

    @property
    def pending(self) -> int:
        """Copies not yet acked or dead-lettered (ready, leased, or waiting behind their key)."""
        waiting = sum(len(q) - 1 for q in self.key_queues.values())
        return len(self.ready) + len(self.leases) + waiting


@dataclass(frozen=True)
class BusCounts:
    published: int = 0
    delivered: int = 0
    acked: int = 0
    nacked: int = 0
    expired: int = 0
    dead_lettered: int = 0
    handler_errors: int = 0
    crashed: int = 0  # handlers that died mid-way (SimulatedCrash): left for the ack deadline


@dataclass(frozen=True)
class DrainSummary:
    delivered: int
    acked: int
    nacked: int
    dead_lettered: int
    expired: int
    pending: int  # left undelivered/unsettled when the drain stopped (0 = fully drained)
    elapsed_s: float  # clock time that passed (virtual seconds on a VirtualClock)

    @classmethod
    def between(cls, before: BusCounts, after: BusCounts, pending: int, elapsed_s: float) -> "DrainSummary":
        return cls(delivered=after.delivered - before.delivered, acked=after.acked - before.acked,
                   nacked=after.nacked - before.nacked, dead_lettered=after.dead_lettered - before.dead_lettered,
                   expired=after.expired - before.expired, pending=pending, elapsed_s=elapsed_s)


_DEAD_LETTER_SOURCE_SUBSCRIPTION = "CloudPubSubDeadLetterSourceSubscription"
_DEAD_LETTER_SOURCE_PROJECT = "CloudPubSubDeadLetterSourceSubscriptionProject"
_DEAD_LETTER_SOURCE_DELIVERY_COUNT = "CloudPubSubDeadLetterSourceDeliveryCount"
_DEAD_LETTER_SOURCE_PUBLISH_TIME = "CloudPubSubDeadLetterSourceTopicPublishTime"


class LocalBus:
    """`MessageBus` in process. Thread-safe: one condition guards all state; handlers run outside it."""

    def __init__(self, project: str = "sportsflow-local", *, clock: Clock | None = None,
                 faults: FaultPlan | None = None,
                 backlog_observer: Callable[[Mapping[str, int]], None] | None = None) -> None:
        """`backlog_observer`: given the pending count of each subscription with a backlog at the
        start of every drain, and of the same subscriptions at its end (the queue-backlog metric)."""
        self.project = project
        self.backlog_observer = backlog_observer
        self.clock: Clock = clock or VirtualClock()
        self.faults = FaultInjector(faults or FaultPlan.none())
        self._cond = threading.Condition()
        self._topics: dict[str, list[_SubscriptionState]] = {}
        self._subscriptions: dict[str, _SubscriptionState] = {}
        self._ids = itertools.count(1)
        self._counts: dict[str, int] = dict.fromkeys(BusCounts.__dataclass_fields__, 0)
        self._in_flight = 0
        self._workers: list[threading.Thread] = []
        self._stopping = False

    # --- administration ------------------------------------------------------------------
    def create_topic(self, topic: str) -> None:
        with self._cond:
            self._topics.setdefault(topic, [])

    def create_subscription(self, spec: SubscriptionSpec) -> None:
        """Idempotent; the dead-letter topic is created if absent (Pub/Sub needs it to exist)."""
        with self._cond:
            if spec.name in self._subscriptions:
                return
            if spec.topic not in self._topics:
                raise UnknownTopic(f"topic {spec.topic!r} does not exist (subscription {spec.name!r})")
            if spec.dead_letter_topic:
                self._topics.setdefault(spec.dead_letter_topic, [])
            state = _SubscriptionState(spec)
            self._subscriptions[spec.name] = state
            self._topics[spec.topic].append(state)

    def topics(self) -> list[str]:
        with self._cond:
            return sorted(self._topics)

    def subscription_spec(self, subscription: str) -> SubscriptionSpec:
        with self._cond:
            return self._state(subscription).spec

    def pending(self, subscription: str) -> int:
        """Messages of the subscription not yet acked or dead-lettered."""
        with self._cond:
            return self._state(subscription).pending

    @property
    def counts(self) -> BusCounts:
        with self._cond:
            return BusCounts(**self._counts)

    # --- publishing ----------------------------------------------------------------------
    def publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None,
                ordering_key: str = "") -> str:
        with self._cond:
            message_id = self._publish_locked(topic, data, attributes or {}, ordering_key)
            self._cond.notify_all()
            return message_id

    def publish_batch(self, messages: Sequence[OutboundMessage]) -> list[str]:
        with self._cond:
            missing = sorted({m.topic for m in messages} - set(self._topics))
            if missing:  # all or nothing, so a failed batch is safe to retry
                raise UnknownTopic(f"topics do not exist: {', '.join(missing)}")
            ids = [self._publish_locked(m.topic, m.data, m.attributes, m.ordering_key) for m in messages]
            self._cond.notify_all()
            return ids

    def _publish_locked(self, topic: str, data: bytes, attributes: Mapping[str, str], ordering_key: str) -> str:
        if topic not in self._topics:
            raise UnknownTopic(f"topic {topic!r} does not exist")
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"message data must be bytes, not {type(data).__name__}")
        message_id = str(next(self._ids))
        now = self.clock.now()
        frozen_attributes = {str(k): str(v) for k, v in attributes.items()}
        for state in self._topics[topic]:
            for _ in range(self.faults.copies_to_deliver()):
                copy = _Copy(message_id, bytes(data), frozen_attributes, ordering_key, now, next(self._ids))
                self._enqueue(state, copy, now)
        self._counts["published"] += 1
        return message_id

    def _enqueue(self, state: _SubscriptionState, copy: _Copy, now: float) -> None:
        if state.is_ordered(copy):
            queue = state.key_queues.setdefault(copy.ordering_key, deque())
            queue.append(copy)
            if len(queue) > 1:
                return  # waits behind the key's head
        heapq.heappush(state.ready, (now, copy.seq, copy))

    # --- pull ----------------------------------------------------------------------------
    def pull(self, subscription: str, max_messages: int = 10, timeout: float = 5.0) -> list[ReceivedMessage]:
        """Waits up to `timeout` seconds of clock time (a VirtualClock jumps instead of waiting)."""
        with self._cond:
            state = self._state(subscription)
            if state.handler is not None:
                raise ValueError(f"subscription {subscription!r} is dispatched to a handler; it cannot be pulled")
            deadline = self.clock.now() + timeout
            while True:
                now = self.clock.now()
                self._expire_leases(state, now)
                batch = [self._lease(state, copy, now)
                         for copy in self._take_ready(state, now, max_messages)]
                if batch or now >= deadline:
                    return batch
                next_event = state.next_event()
                until = deadline if next_event is None else min(next_event, deadline)
                self.clock.wait(self._cond, until, idle=self._in_flight == 0)

    def ack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        with self._cond:
            state = self._state(subscription)
            for ack_id in ack_ids:
                self._settle(state, ack_id, succeeded=True)
            self._cond.notify_all()

    def nack(self, subscription: str, ack_ids: Sequence[str]) -> None:
        with self._cond:
            state = self._state(subscription)
            for ack_id in ack_ids:
                self._settle(state, ack_id, succeeded=False)
            self._cond.notify_all()

    # --- push-style dispatch ---------------------------------------------------------------
    def attach(self, subscription: str, handler: Handler) -> None:
        """Deliver this subscription's messages to `handler` (returns: ack; raises: nack)."""
        with self._cond:
            self._state(subscription).handler = handler
            self._cond.notify_all()

    def detach(self, subscription: str) -> None:
        with self._cond:
            self._state(subscription).handler = None

    def drain(self, max_seconds: float | None = None, max_deliveries: int | None = None) -> DrainSummary:
        """Deliver to attached handlers on this thread until nothing is pending (or a limit is hit).

        `max_seconds` bounds clock time (virtual seconds on a VirtualClock). Deterministic for a
        given FaultPlan seed when handlers are."""
        if self._workers:
            raise RuntimeError("drain() while dispatch threads run: use wait_until_idle()")
        started, before = self.clock.now(), self.counts
        backlog = self._observe_backlog(None)
        delivered = 0
        while max_deliveries is None or delivered < max_deliveries:
            with self._cond:
                now = self.clock.now()
                if max_seconds is not None and now - started >= max_seconds:
                    break
                delivery = self._take_dispatch(now)
                if delivery is None:
                    next_event = self._next_dispatch_event()
                    if next_event is None or (max_seconds is not None and next_event - started > max_seconds):
                        break
                    self.clock.wait(self._cond, next_event, idle=self._in_flight == 0)
                    continue
            self._run_handler(*delivery)
            delivered += 1
        with self._cond:
            pending = sum(s.pending for s in self._attached())
        self._observe_backlog(backlog)
        return DrainSummary.between(before, self.counts, pending, self.clock.now() - started)

    def backlog(self) -> dict[str, int]:
        """Pending messages of every subscription that has any."""
        with self._cond:
            return {name: state.pending for name, state in self._subscriptions.items() if state.pending}

    def _observe_backlog(self, of: Iterable[str] | None) -> list[str]:
        """Report the backlog (of the subscriptions `of`, else of those with one) to the observer."""
        if self.backlog_observer is None:
            return []
        if of is None:
            sample = self.backlog()
        else:
            with self._cond:
                sample = {name: self._subscriptions[name].pending for name in of}
        if sample:
            self.backlog_observer(sample)
        return list(sample)

    def start(self, workers: int = 4) -> None:
        """Dispatch to attached handlers on `workers` threads until `stop()`."""
        with self._cond:
            if self._workers:
                raise RuntimeError("dispatch threads already running")
            self._stopping = False
            self._workers = [threading.Thread(target=self._work, name=f"localbus-{i}", daemon=True)
                             for i in range(workers)]
        for worker in self._workers:
            worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for worker in self._workers:
            worker.join(timeout)
        self._workers = []

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """With threads running: wait (real seconds) until no attached subscription has work."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._in_flight or any(s.pending for s in self._attached()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.05))
            return True

    def close(self) -> None:
        self.stop()

    def _work(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stopping:
                        return
                    delivery = self._take_dispatch(self.clock.now())
                    if delivery is not None:
                        break
                    self.clock.wait(self._cond, self._next_dispatch_event(), idle=self._in_flight == 0)
            self._run_handler(*delivery)

    def _run_handler(self, state: _SubscriptionState, handler: Handler, message: ReceivedMessage) -> None:
        try:
            handler(message)
            succeeded = True
        except SimulatedCrash:
            # The process died mid-handler: neither ack nor nack; the ack deadline redelivers it.
            with self._cond:
                self._in_flight -= 1
                self._counts["crashed"] += 1
                self._cond.notify_all()
            return
        except Exception:
            succeeded = False
            log.warning("handler failed; message will be redelivered", exc_info=True,
                        extra={"fields": {"subscription": message.subscription, "message_id": message.message_id,
                                          "delivery_attempt": message.delivery_attempt}})
        with self._cond:
            self._in_flight -= 1
            if not succeeded:
                self._counts["handler_errors"] += 1
            self._settle(state, message.ack_id, succeeded)
            self._cond.notify_all()

    def _attached(self) -> Iterable[_SubscriptionState]:
        return (s for s in self._subscriptions.values() if s.handler is not None)

    def _take_dispatch(self, now: float) -> tuple[_SubscriptionState, Handler, ReceivedMessage] | None:
        candidates: list[tuple[float, int, _SubscriptionState]] = []
        for state in self._attached():
            self._expire_leases(state, now)
            if self.faults.plan.reorder:
                candidates += [(t, seq, state) for t, seq, _ in state.ready if t <= now]
            elif state.ready and state.ready[0][0] <= now:
                candidates.append((state.ready[0][0], state.ready[0][1], state))
        if not candidates:
            return None
        candidates.sort(key=lambda c: (c[0], c[1]))
        _, seq, state = candidates[self.faults.choose_next(len(candidates))]
        copy = self._remove_ready(state, seq)
        self._in_flight += 1
        return state, state.handler, self._lease(state, copy, now)  # type: ignore[return-value]

    def _next_dispatch_event(self) -> float | None:
        return min((t for s in self._attached() if (t := s.next_event()) is not None), default=None)

    # --- delivery mechanics ------------------------------------------------------------------
    def _take_ready(self, state: _SubscriptionState, now: float, limit: int) -> list[_Copy]:
        taken: list[_Copy] = []
        while len(taken) < limit:
            deliverable = sorted((t, seq) for t, seq, _ in state.ready if t <= now) if self.faults.plan.reorder \
                else ([state.ready[0][:2]] if state.ready and state.ready[0][0] <= now else [])
            if not deliverable:
                break
            taken.append(self._remove_ready(state, deliverable[self.faults.choose_next(len(deliverable))][1]))
        return taken

    @staticmethod
    def _remove_ready(state: _SubscriptionState, seq: int) -> _Copy:
        if state.ready[0][1] == seq:
            return heapq.heappop(state.ready)[2]
        index = next(i for i, entry in enumerate(state.ready) if entry[1] == seq)
        entry = state.ready.pop(index)
        heapq.heapify(state.ready)
        return entry[2]

    def _lease(self, state: _SubscriptionState, copy: _Copy, now: float) -> ReceivedMessage:
        copy.attempts += 1
        ack_id = f"{state.spec.name}/{next(self._ids)}"
        deadline = now + state.spec.ack_deadline_s
        state.leases[ack_id] = _Lease(copy, ack_id, deadline)
        heapq.heappush(state.lease_deadlines, (deadline, ack_id))
        self._counts["delivered"] += 1
        return ReceivedMessage(
            message_id=copy.message_id, subscription=state.spec.name, data=copy.data,
            attributes=dict(copy.attributes), ordering_key=copy.ordering_key,
            delivery_attempt=copy.attempts if state.spec.dead_letter_topic else 0,
            publish_time=self.clock.wall_time(copy.published_at), ack_id=ack_id)

    def _settle(self, state: _SubscriptionState, ack_id: str, succeeded: bool) -> None:
        lease = state.leases.get(ack_id)
        if lease is None:
            return  # expired and already redelivered, or settled before: Pub/Sub ignores it too
        if succeeded and self.faults.ack_lost():
            return  # the lease stays; its deadline expiring redelivers the message
        del state.leases[ack_id]
        if succeeded:
            self._counts["acked"] += 1
            self._finish(state, lease.copy, self.clock.now())
        else:
            self._counts["nacked"] += 1
            self._retry_or_dead_letter(state, lease.copy, self.clock.now())

    def _expire_leases(self, state: _SubscriptionState, now: float) -> None:
        while (deadline := state.next_lease_deadline()) is not None and deadline <= now:
            _, ack_id = heapq.heappop(state.lease_deadlines)
            lease = state.leases.pop(ack_id)
            self._counts["expired"] += 1
            self._retry_or_dead_letter(state, lease.copy, deadline)

    def _retry_or_dead_letter(self, state: _SubscriptionState, copy: _Copy, at: float) -> None:
        spec = state.spec
        if spec.dead_letter_topic and copy.attempts >= spec.max_delivery_attempts:
            self._dead_letter(state, copy)
            self._finish(state, copy, at)
            return
        heapq.heappush(state.ready, (at + state.backoff(copy.attempts), copy.seq, copy))

    def _finish(self, state: _SubscriptionState, copy: _Copy, at: float) -> None:
        """The copy is done (acked or dead-lettered): its key's next message may go."""
        if not state.is_ordered(copy):
            return
        queue = state.key_queues[copy.ordering_key]
        queue.popleft()
        if queue:
            heapq.heappush(state.ready, (at, queue[0].seq, queue[0]))
        else:
            del state.key_queues[copy.ordering_key]

    def _dead_letter(self, state: _SubscriptionState, copy: _Copy) -> None:
        attributes = {
            **copy.attributes,
            _DEAD_LETTER_SOURCE_SUBSCRIPTION: state.spec.name,
            _DEAD_LETTER_SOURCE_PROJECT: self.project,
            _DEAD_LETTER_SOURCE_DELIVERY_COUNT: str(copy.attempts),
            _DEAD_LETTER_SOURCE_PUBLISH_TIME: _rfc3339_millis(self.clock.wall_time(copy.published_at)),
        }
        dead_letter_topic: str = state.spec.dead_letter_topic  # type: ignore[assignment]  # checked by caller
        self._publish_locked(dead_letter_topic, copy.data, attributes, copy.ordering_key)
        self._counts["dead_lettered"] += 1
        log.warning("dead-lettered after max delivery attempts",
                    extra={"fields": {"subscription": state.spec.name, "message_id": copy.message_id,
                                      "delivery_attempts": copy.attempts,
                                      "dead_letter_topic": state.spec.dead_letter_topic}})

    def _state(self, subscription: str) -> _SubscriptionState:
        try:
            return self._subscriptions[subscription]
        except KeyError:
            raise UnknownSubscription(f"subscription {subscription!r} does not exist") from None


def _rfc3339_millis(moment: datetime) -> str:
    """Pub/Sub's timestamp format in dead-letter attributes: 2025-01-15T03:18:41.282Z."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
