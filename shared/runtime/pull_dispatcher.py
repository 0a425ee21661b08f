"""Delivery for the emulator backend: pull each routed subscription and run its subscriber,
acking on success and nacking on failure — what Pub/Sub push to Cloud Functions does in
production.

`run_until_quiescent()` returns only when no message is outstanding: every message published
through the bus since tracking began (the dispatcher observes `bus.publish`/`publish_batch` on
the bus object itself, so what the handlers publish counts too) and every message seen on a
routed subscription has been acked there, or forwarded by Pub/Sub to the subscription's
dead-letter topic (seen arriving on a routed subscription of that topic); nothing is in
flight; and every subscription has since answered a pull with nothing (which also catches
messages published before tracking began — except one already nacked and waiting out its
backoff, so call `start_tracking()` before publishing the first messages). A nacked message
keeps it busy until it is redelivered and acked, or dead-lettered. `run_until_idle()` (quiet
for N seconds) is the old heuristic, kept for callers that want it.

Every pull thread survives every error: a failed pull (a transient gRPC error, a message too
large to receive) or a failed ack is logged, backed off and retried, so a subscription never
silently stalls; a subscriber that dies with a BaseException (a simulated process crash) is
nacked like a failure. Bad input is the subscriber's business (PubSubFunction dead-letters it).
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

from shared.ports.bus import MessageBus, OutboundMessage, ReceivedMessage
from shared.topology.model import SubscriptionSpec

log = logging.getLogger("sportsflow.runtime.pull_dispatcher")
Subscriber = Callable[[ReceivedMessage], object]

DEAD_LETTER_SOURCE_SUBSCRIPTION = "CloudPubSubDeadLetterSourceSubscription"
MAX_ERROR_BACKOFF_S = 5.0
# An ack or nack that fails is tried again at once (both are idempotent): given up, the message
# waits out its whole ack deadline (600 s in the topology) before Pub/Sub redelivers it.
SETTLE_ATTEMPTS = 3
SETTLE_RETRY_PAUSE_S = 0.2


@dataclass
class DispatchSummary:
    delivered: int = 0
    acked: int = 0
    nacked: int = 0
    dead_lettered: int = 0  # forwarded by Pub/Sub after max delivery attempts
    pull_errors: int = 0
    settle_errors: int = 0  # acks/nacks that failed (the message is redelivered after its ack deadline)
    crashed: int = 0  # subscribers that raised a BaseException (a simulated process death): nacked
    elapsed_s: float = 0.0
    outstanding: dict[str, int] = field(default_factory=dict)  # subscription -> unsettled messages


class NotQuiescent(TimeoutError):
    """Messages were still outstanding when the timeout passed."""

    def __init__(self, timeout: float, outstanding: Mapping[str, int], nacked: Mapping[str, int],
                 summary: DispatchSummary):
        self.outstanding = dict(outstanding)
        self.summary = summary
        parts = ", ".join(f"{name}: {count}" + (f" ({nacked[name]} nacked, waiting for redelivery)"
                                                 if nacked.get(name) else "")
                          for name, count in sorted(outstanding.items()))
        busy = "none outstanding, but deliveries were still running"
        pulls = f"; {summary.pull_errors} pulls failed (see the 'pull failed' logs)" if summary.pull_errors else ""
        super().__init__(f"messages still outstanding after {timeout:.0f} s — {parts or busy}{pulls}. "
                         "Look at the handlers' 'failed; will be redelivered' logs for those subscriptions, "
                         "or raise the timeout if they are merely slow.")


def digest(data: bytes) -> str:
    """What links a message to the copy Pub/Sub forwards to a dead-letter topic (same data)."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class _Subscription:
    spec: SubscriptionSpec | None
    pending: dict[str, str] = field(default_factory=dict)  # message id -> digest of its data
    settled: set[str] = field(default_factory=set)
    nacked: set[str] = field(default_factory=set)
    drained_at: int = -1  # the change count at which a pull that came back empty began


class OutstandingLedger:
    """Which messages each routed subscription has yet to settle (thread-safe)."""

    def __init__(self, subscriptions: Mapping[str, SubscriptionSpec | None], prefix: str = ""):
        self._lock = threading.Lock()
        self._prefix = prefix
        self._subs = {name: _Subscription(spec) for name, spec in subscriptions.items()}
        self._changes = 0
        self._in_flight = 0
        self.forwarded = 0

    # --- what happened -------------------------------------------------------------------
    def published(self, topic: str, message_id: str, data: bytes) -> None:
        with self._lock:
            for sub in self._subscriptions_of(topic):
                if message_id not in sub.settled:
                    sub.pending.setdefault(message_id, digest(data))
            self._changes += 1

    def delivered(self, subscription: str, message: ReceivedMessage) -> None:
        """An unknown message (published before tracking, or by someone else) becomes outstanding;
        a copy forwarded by Pub/Sub settles the message it came from."""
        with self._lock:
            sub = self._subs[subscription]
            sub.settled.discard(message.message_id)  # a redelivery after an ack: outstanding again
            sub.pending.setdefault(message.message_id, digest(message.data))
            source = self._forwarding_source(message)
            if source is not None:
                self._settle_forwarded(source, digest(message.data))
            self._changes += 1

    def acked(self, subscription: str, message: ReceivedMessage) -> None:
        with self._lock:
            sub = self._subs[subscription]
            sub.pending.pop(message.message_id, None)
            sub.nacked.discard(message.message_id)
            sub.settled.add(message.message_id)
            self._changes += 1

    def nacked(self, subscription: str, message: ReceivedMessage) -> None:
        with self._lock:
            sub = self._subs[subscription]
            sub.nacked.add(message.message_id)
            if self._forwarded_unseen(sub, message.delivery_attempt):
                # Pub/Sub forwards it now, to a dead-letter topic nobody here pulls: nothing more to see.
                sub.pending.pop(message.message_id, None)
                sub.settled.add(message.message_id)
                self.forwarded += 1
            self._changes += 1

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._changes += 1

    def pull_starting(self) -> int:
        with self._lock:
            return self._changes

    def pulled_nothing(self, subscription: str, started_at: int) -> None:
        with self._lock:
            self._subs[subscription].drained_at = started_at

    # --- what it means ---------------------------------------------------------------------
    def is_quiescent(self) -> bool:
        with self._lock:
            return self._in_flight == 0 and all(not sub.pending and sub.drained_at == self._changes
                                                for sub in self._subs.values())

    def outstanding(self) -> dict[str, int]:
        with self._lock:
            return {name: len(sub.pending) for name, sub in self._subs.items() if sub.pending}

    def nacked_outstanding(self) -> dict[str, int]:
        with self._lock:
            return {name: len(sub.nacked & sub.pending.keys()) for name, sub in self._subs.items()}

    # --- helpers (lock held) ------------------------------------------------------------------
    def _subscriptions_of(self, topic: str) -> list[_Subscription]:
        return [sub for sub in self._subs.values() if sub.spec is not None and sub.spec.topic == topic]

    def _forwarding_source(self, message: ReceivedMessage) -> _Subscription | None:
        """The routed subscription a dead-lettered copy came from (its attribute may hold the
        prefixed name or a full path)."""
        name = str(message.attributes.get(DEAD_LETTER_SOURCE_SUBSCRIPTION, "")).rsplit("/", 1)[-1]
        if not name:
            return None
        if name not in self._subs and self._prefix and name.startswith(self._prefix):
            name = name[len(self._prefix):]
        return self._subs.get(name)

    def _settle_forwarded(self, source: _Subscription, data_digest: str) -> None:
        message_id = next((mid for mid, d in source.pending.items() if d == data_digest), None)
        if message_id is not None:
            del source.pending[message_id]
            source.settled.add(message_id)
            self.forwarded += 1

    def _forwarded_unseen(self, sub: _Subscription, attempt: int) -> bool:
        spec = sub.spec
        if spec is None or not spec.dead_letter_topic or attempt < spec.max_delivery_attempts:
            return False
        return not self._subscriptions_of(spec.dead_letter_topic)


class _PublishObserver:
    """Reports every message published through `bus` to the ledger, by wrapping `publish` and
    `publish_batch` on the bus object itself (the functions publish through that same object).
    Nested calls (publish implemented with publish_batch) are reported once."""

    def __init__(self, bus: MessageBus, ledger: OutstandingLedger):
        self._bus = bus
        self._ledger = ledger
        self._local = threading.local()
        self._originals: dict[str, Callable] = {}
        self._shadowed: dict[str, Callable] = {}  # instance attributes that were there before ours

    def install(self) -> None:
        if self._originals:
            return
        for name, wrapper in (("publish", self._publish), ("publish_batch", self._publish_batch)):
            self._originals[name] = getattr(self._bus, name)
            if name in vars(self._bus):
                self._shadowed[name] = vars(self._bus)[name]
            setattr(self._bus, name, wrapper)

    def uninstall(self) -> None:
        """The bus exactly as it was: someone else's wrapper back, or the class's method showing through."""
        for name in self._originals:
            if name in self._shadowed:
                setattr(self._bus, name, self._shadowed[name])
            else:
                with contextlib.suppress(AttributeError):
                    delattr(self._bus, name)
        self._originals.clear()
        self._shadowed.clear()

    def _publish(self, topic: str, data: bytes, attributes: Mapping[str, str] | None = None,
                 ordering_key: str = "") -> str:
        with self._outermost() as outermost:
            message_id = self._originals["publish"](topic, data, attributes, ordering_key)
            if outermost:
                self._ledger.published(topic, message_id, data)
            return message_id

    def _publish_batch(self, messages: Sequence[OutboundMessage]) -> list[str]:
        with self._outermost() as outermost:
            ids = self._originals["publish_batch"](messages)
            if outermost:
                for message, message_id in zip(messages, ids):
                    self._ledger.published(message.topic, message_id, message.data)
            return ids

    @contextlib.contextmanager
    def _outermost(self) -> Iterator[bool]:
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield depth == 0
        finally:
            self._local.depth = depth


class PullDispatcher:
    def __init__(self, bus: MessageBus, routes: Mapping[str, Subscriber], *, max_messages: int = 10,
                 pull_timeout: float = 0.5, subscriptions: Sequence[SubscriptionSpec] | None = None,
                 threads: Mapping[str, int] | None = None):
        """`routes`: subscription name -> subscriber (returns: ack; raises: nack). `subscriptions`:
        their specs (topic, dead-letter policy); by default asked of the bus, else the topology.
        `threads`: concurrent pullers per subscription (default 1), as a function scaled out to
        several instances has."""
        self._bus = bus
        self._routes = dict(routes)
        self._threads = {name: max(1, int((threads or {}).get(name, 1))) for name in self._routes}
        self._max_messages = max_messages
        self._pull_timeout = pull_timeout
        self._lock = threading.Lock()
        self._summary = DispatchSummary()
        self._last_activity = time.monotonic()
        self._busy = 0
        specs = _resolve_specs(bus, self._routes, subscriptions)
        self._ledger = OutstandingLedger(specs, prefix=str(getattr(bus, "prefix", "") or ""))
        self._observer = _PublishObserver(bus, self._ledger)
        self._untracked = sorted(name for name, spec in specs.items() if spec is None)

    # --- quiescence ------------------------------------------------------------------------
    def start_tracking(self) -> None:
        """Count messages published through the bus from now on (call before publishing the
        first messages to have them counted exactly; run_until_quiescent calls it anyway)."""
        self._observer.install()

    def stop_tracking(self) -> None:
        self._observer.uninstall()

    def run_until_quiescent(self, *, timeout: float = 900.0, check_every_s: float = 0.1) -> DispatchSummary:
        """Deliver until no message is outstanding (see the module docstring). Raises NotQuiescent
        (a TimeoutError naming each subscription and its outstanding count) after `timeout` s."""
        if self._untracked:
            raise ValueError(f"no subscription spec for {', '.join(self._untracked)}: pass subscriptions=[...] "
                             "so the dispatcher knows their topics")
        self.start_tracking()
        started = time.monotonic()
        try:
            with self._serving():
                while not self._ledger.is_quiescent():
                    if time.monotonic() - started > timeout:
                        raise NotQuiescent(timeout, self._ledger.outstanding(), self._ledger.nacked_outstanding(),
                                           self._finish(started))
                    time.sleep(check_every_s)
        finally:
            self.stop_tracking()
        return self._finish(started)

    def run_until_idle(self, *, idle_seconds: float = 4.0, timeout: float = 900.0) -> DispatchSummary:
        """The old heuristic: until every subscription has been quiet for `idle_seconds`. It
        returns early when a nacked message's redelivery takes longer: prefer run_until_quiescent."""
        started = time.monotonic()
        with self._serving():
            while not self._quiet_for(idle_seconds):
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"messages still flowing after {timeout:.0f} s")
                time.sleep(0.2)
        return self._finish(started)

    def outstanding(self) -> dict[str, int]:
        """Subscription -> messages seen or published but not yet settled."""
        return self._ledger.outstanding()

    def _finish(self, started: float) -> DispatchSummary:
        with self._lock:
            self._summary.elapsed_s = time.monotonic() - started
            self._summary.dead_lettered = self._ledger.forwarded
            self._summary.outstanding = self._ledger.outstanding()
            return self._summary

    def _quiet_for(self, seconds: float) -> bool:
        with self._lock:
            return self._busy == 0 and time.monotonic() - self._last_activity >= seconds

    # --- the pull threads ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _serving(self) -> Iterator[None]:
        stop = threading.Event()
        workers = [threading.Thread(target=self._serve, args=(name, subscriber, stop), daemon=True,
                                    name=f"pull-{name}-{n}")
                   for name, subscriber in self._routes.items() for n in range(self._threads[name])]
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=self._pull_timeout + 30)

    def _serve(self, subscription: str, subscriber: Subscriber, stop: threading.Event) -> None:
        """Never returns before `stop`: every error is logged and backed off, then pulling resumes."""
        failures = 0
        while not stop.is_set():
            try:
                self._serve_once(subscription, subscriber)
                failures = 0
            except Exception as err:
                failures += 1
                self._pull_failed(subscription, err, failures)
                stop.wait(min(MAX_ERROR_BACKOFF_S, 0.1 * 2 ** (min(failures, 10) - 1)))

    def _serve_once(self, subscription: str, subscriber: Subscriber) -> None:
        started_at = self._ledger.pull_starting()
        received = self._bus.pull(subscription, self._max_messages, timeout=self._pull_timeout)
        if not received:
            self._ledger.pulled_nothing(subscription, started_at)
            return
        with self._ledger.in_flight(), self._activity():
            for message in received:
                self._deliver(subscription, subscriber, message)

    def _deliver(self, subscription: str, subscriber: Subscriber, message: ReceivedMessage) -> None:
        self._ledger.delivered(subscription, message)
        self._count("delivered")
        if self._succeeds(subscription, subscriber, message):
            if self._settle(self._bus.ack, subscription, message):
                self._ledger.acked(subscription, message)
                self._count("acked")
        elif self._settle(self._bus.nack, subscription, message):  # Pub/Sub redelivers with backoff
            self._ledger.nacked(subscription, message)
            self._count("nacked")

    def _succeeds(self, subscription: str, subscriber: Subscriber, message: ReceivedMessage) -> bool:
        try:
            subscriber(message)
            return True
        except Exception:  # the subscriber logged it
            return False
        except BaseException as crash:  # e.g. a simulated process death (SimulatedCrash), sys.exit()
            if isinstance(crash, KeyboardInterrupt):
                raise
            # In production the instance dies and Pub/Sub redelivers after the ack deadline (600 s);
            # here a fresh "instance" (this thread) goes on and the nack brings the redelivery forward.
            self._count("crashed")
            log.warning("subscriber crashed; the message is nacked and will be redelivered",
                        extra={"fields": {"subscription": subscription, "message_id": message.message_id,
                                          "delivery_attempt": message.delivery_attempt,
                                          "error_type": type(crash).__name__, "error": str(crash)[:500]}})
            return False

    def _settle(self, settle: Callable[[str, Sequence[str]], None], subscription: str,
                message: ReceivedMessage) -> bool:
        for attempt in range(1, SETTLE_ATTEMPTS + 1):
            try:
                settle(subscription, [message.ack_id])
                return True
            except Exception as err:
                if attempt == SETTLE_ATTEMPTS:
                    self._settle_failed(settle, subscription, message, err)
                    return False
                time.sleep(SETTLE_RETRY_PAUSE_S * 2 ** (attempt - 1))
        return False

    def _settle_failed(self, settle: Callable, subscription: str, message: ReceivedMessage,
                       err: Exception) -> None:
        """Given up: the message stays outstanding; its ack deadline redelivers it."""
        self._count("settle_errors")
        log.warning("ack/nack failed; the message will be redelivered after its ack deadline",
                    extra={"fields": {"subscription": subscription, "message_id": message.message_id,
                                      "operation": getattr(settle, "__name__", "settle"),
                                      "attempts": SETTLE_ATTEMPTS,
                                      "error_type": type(err).__name__, "error": str(err)[:500]}})

    def _pull_failed(self, subscription: str, err: Exception, failures: int) -> None:
        self._count("pull_errors")
        log.warning("pull failed; backing off and pulling again",
                    extra={"fields": {"subscription": subscription, "consecutive_failures": failures,
                                      "error_type": type(err).__name__, "error": str(err)[:500]}})

    @contextlib.contextmanager
    def _activity(self) -> Iterator[None]:
        with self._lock:
            self._busy += 1
            self._last_activity = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                self._last_activity = time.monotonic()

    def _count(self, outcome: str) -> None:
        with self._lock:
            setattr(self._summary, outcome, getattr(self._summary, outcome) + 1)


def _resolve_specs(bus: MessageBus, routes: Mapping[str, Subscriber],
                   given: Sequence[SubscriptionSpec] | None) -> dict[str, SubscriptionSpec | None]:
    by_name = {spec.name: spec for spec in given or ()}
    return {name: by_name.get(name) or _spec_of(bus, name) for name in routes}


def _spec_of(bus: MessageBus, name: str) -> SubscriptionSpec | None:
    lookup = getattr(bus, "subscription_spec", None)
    if lookup is not None:
        with contextlib.suppress(Exception):
            return lookup(name)
    from shared.topology import TOPOLOGY

    return next((spec for spec in TOPOLOGY.subscriptions if spec.name == name), None)
