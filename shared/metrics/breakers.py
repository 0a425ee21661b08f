"""`breaker_state` points: every circuit-breaker transition of the process, recorded into the metrics
of the home the process works on (value 0 closed, 1 half_open, 2 open; labels provider, state,
from_state). A breaker knows no Settings, so the process binds one: the Services it built last
(shared.bootstrap does this), which is the deployed function's or the CLI command's home."""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from shared.metrics.recorder import record_quietly
from shared.resilience.circuit_breaker import BreakerState, on_transition

if TYPE_CHECKING:
    from shared.config import Settings

BREAKER_STATE = "breaker_state"
STATE_VALUES = {BreakerState.CLOSED: 0.0, BreakerState.HALF_OPEN: 1.0, BreakerState.OPEN: 2.0}

_bound: list["Settings"] = []  # at most one: where this process's transitions are recorded
_lock = threading.Lock()


def record_breaker_transitions(settings: "Settings") -> None:
    """From now on, this process's breaker transitions are points of `settings`' metrics."""
    with _lock:
        if not _bound:
            on_transition(_record)
        _bound[:] = [settings]


def _record(provider: str, from_state: BreakerState, to_state: BreakerState) -> None:
    with _lock:
        settings = _bound[0] if _bound else None
    if settings is not None:
        record_quietly(settings, BREAKER_STATE, STATE_VALUES[to_state], provider=provider, state=to_state.value,
                       from_state=from_state.value)
