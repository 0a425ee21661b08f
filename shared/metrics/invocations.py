"""One metric point per function invocation: its latency, outcome and function name.

Outcomes: `ok` (acked / answered), `retried` (raised or answered 5xx: Pub/Sub or the scheduler
delivers it again), `dead_lettered` (bad input or a permanent error, parked with its reason),
`refused` (an HTTP caller turned away: authentication, route, budget, body size).
Recording never fails an invocation: a broken metrics store is logged and the result stands."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable

from shared.metrics.recorder import INVOCATION, process_metrics

OK, RETRIED, DEAD_LETTERED, REFUSED = "ok", "retried", "dead_lettered", "refused"
OUTCOMES = (OK, RETRIED, DEAD_LETTERED, REFUSED)
log = logging.getLogger("sportsflow.metrics")


def record_invocation(services_factory: Callable[[], Any], function: str, outcome: str, started: float, *,
                      trigger: str) -> None:
    """`started`: the invocation's `time.perf_counter()` at its start; `trigger`: pubsub | http."""
    latency_ms = round((time.perf_counter() - started) * 1000, 3)
    try:
        process_metrics(services_factory().settings).record(INVOCATION, latency_ms, function=function,
                                                            outcome=outcome, trigger=trigger)
    except Exception:  # noqa: BLE001 - metrics are best effort; the invocation's outcome stands
        log.warning("invocation metric not recorded", exc_info=True)


def http_outcome(response: Any) -> str:
    """A handler's answer: a 5xx is retried by its caller (scheduler, push), anything else is ok."""
    status = response[1] if isinstance(response, tuple) and len(response) > 1 else getattr(response, "status_code", 200)
    try:
        return RETRIED if int(status) >= 500 else OK
    except (TypeError, ValueError):
        return OK
