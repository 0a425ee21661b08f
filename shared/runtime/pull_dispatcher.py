"""Delivery for the emulator backend: pull each routed subscription and run its subscriber,
acking on success and nacking on failure — what Pub/Sub push to Cloud Functions does in
production. Runs until every subscription has been quiet for `idle_seconds`."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Callable, Mapping

from shared.ports.bus import MessageBus, ReceivedMessage

log = logging.getLogger("sportsflow.runtime.pull_dispatcher")
Subscriber = Callable[[ReceivedMessage], object]


@dataclass
class DispatchSummary:
    delivered: int = 0
    acked: int = 0
    nacked: int = 0
    elapsed_s: float = 0.0


class PullDispatcher:
    def __init__(self, bus: MessageBus, routes: Mapping[str, Subscriber], *, max_messages: int = 10,
                 pull_timeout: float = 0.5):
        self._bus = bus
        self._routes = dict(routes)
        self._max_messages = max_messages
        self._pull_timeout = pull_timeout
        self._lock = threading.Lock()
        self._summary = DispatchSummary()
        self._last_activity = time.monotonic()
        self._busy = 0

    def run_until_idle(self, *, idle_seconds: float = 4.0, timeout: float = 900.0) -> DispatchSummary:
        started = time.monotonic()
        stop = threading.Event()
        workers = [threading.Thread(target=self._serve, args=(name, subscriber, stop), daemon=True,
                                    name=f"pull-{name}") for name, subscriber in self._routes.items()]
        for worker in workers:
            worker.start()
        try:
            while not self._quiet_for(idle_seconds):
                if time.monotonic() - started > timeout:
                    raise TimeoutError(f"messages still flowing after {timeout:.0f} s")
                time.sleep(0.2)
        finally:
            stop.set()
            for worker in workers:
                worker.join(timeout=self._pull_timeout + 30)
        self._summary.elapsed_s = time.monotonic() - started
        return self._summary

    def _quiet_for(self, seconds: float) -> bool:
        with self._lock:
            return self._busy == 0 and time.monotonic() - self._last_activity >= seconds

    def _serve(self, subscription: str, subscriber: Subscriber, stop: threading.Event) -> None:
        while not stop.is_set():
            received = self._bus.pull(subscription, self._max_messages, timeout=self._pull_timeout)
            if not received:
                continue
            with self._lock:
                self._busy += 1
                self._last_activity = time.monotonic()
            try:
                for message in received:
                    self._deliver(subscription, subscriber, message)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._last_activity = time.monotonic()

    def _deliver(self, subscription: str, subscriber: Subscriber, message: ReceivedMessage) -> None:
        try:
            subscriber(message)
        except Exception:  # the subscriber logged it; Pub/Sub redelivers with backoff
            self._bus.nack(subscription, [message.ack_id])
            self._count("nacked")
        else:
            self._bus.ack(subscription, [message.ack_id])
            self._count("acked")

    def _count(self, outcome: str) -> None:
        with self._lock:
            self._summary.delivered += 1
            setattr(self._summary, outcome, getattr(self._summary, outcome) + 1)
