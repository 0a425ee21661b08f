"""A per-provider circuit breaker: closed → open → half_open → closed | open (SPEC §3).

- closed: calls pass; consecutive failures are remembered with their times. When
  `failure_threshold` of them fall within `window_seconds` (5 in 60 s), it opens.
  A success forgets them.
- open: calls fail fast with `CircuitOpenError` (which says when it will half-open) for
  `open_seconds` (120 s).
- half_open: exactly one caller gets a probe permit; everyone else fails fast until the
  probe reports. Probe success closes the circuit; probe failure opens it for another
  `open_seconds`.

Usage: `permit = breaker.acquire()` then exactly one of `permit.record_success()`,
`permit.record_failure()`, or `permit.abandon()` (no verdict: frees a probe slot, counts
nothing); or `breaker.call(fn, ...)` which does that for you.

Results reported by a permit from an earlier state (e.g. a slow call admitted while closed
that finishes after the circuit opened) are ignored: only calls admitted in the current
state may move it. The clock is injectable so tests need not wait 120 s; open → half_open
happens when the clock says so, observed on the next `acquire`/`state`/`snapshot`.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, TypeVar

from shared.resilience.errors import CircuitOpenError
from shared.resilience.policy import BreakerPolicy

log = logging.getLogger("sportsflow.resilience")

T = TypeVar("T")


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


TransitionListener = Callable[[str, "BreakerState", "BreakerState"], None]  # provider, from, to
_listeners: list[TransitionListener] = []


def on_transition(listener: TransitionListener) -> Callable[[], None]:
    """Call `listener(provider, from_state, to_state)` on every breaker transition in this process
    (after the lock is released; a failing listener is logged, never raised). Returns the remover."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


@dataclass(frozen=True)
class BreakerSnapshot:
    provider: str
    state: BreakerState
    consecutive_failures: int
    seconds_until_half_open: float | None
    probe_in_flight: bool


@dataclass(frozen=True)
class _Transition:
    from_state: BreakerState
    to_state: BreakerState
    consecutive_failures: int
    at: float


class Permit:
    """Admission for one call; report its outcome exactly once (later reports are ignored)."""

    __slots__ = ("_breaker", "_generation", "is_probe", "_settled")

    def __init__(self, breaker: CircuitBreaker, generation: int, is_probe: bool) -> None:
        self._breaker = breaker
        self._generation = generation
        self.is_probe = is_probe
        self._settled = False

    def record_success(self) -> None:
        self._settle(self._breaker._on_success)

    def record_failure(self) -> None:
        self._settle(self._breaker._on_failure)

    def abandon(self) -> None:
        self._settle(self._breaker._on_abandon)

    def _settle(self, report: Callable[[Permit], None]) -> None:
        if not self._settled:
            self._settled = True
            report(self)


class CircuitBreaker:
    def __init__(
        self,
        provider: str,
        policy: BreakerPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.provider = provider
        self.policy = policy or BreakerPolicy()
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._generation = 0  # bumped on every transition; permits from older generations are stale
        self._failure_times: deque[float] = deque()
        self._half_open_at = 0.0
        self._probe_in_flight = False

    # --- observing -------------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        return self.snapshot().state

    @property
    def seconds_until_half_open(self) -> float | None:
        return self.snapshot().seconds_until_half_open

    def snapshot(self) -> BreakerSnapshot:
        with self._lock:
            now = self._clock()
            transition = self._half_open_if_due(now)
            self._forget_failures_before(now - self.policy.window_seconds)
            snap = BreakerSnapshot(
                provider=self.provider,
                state=self._state,
                consecutive_failures=len(self._failure_times),
                seconds_until_half_open=max(0.0, self._half_open_at - now) if self._state is BreakerState.OPEN else None,
                probe_in_flight=self._probe_in_flight,
            )
        self._log(transition)
        return snap

    # --- admitting -------------------------------------------------------------------

    def acquire(self) -> Permit:
        """A permit to call the provider now, or `CircuitOpenError` to fail fast."""
        rejection: CircuitOpenError | None = None
        permit: Permit | None = None
        with self._lock:
            now = self._clock()
            transition = self._half_open_if_due(now)
            if self._state is BreakerState.CLOSED:
                permit = Permit(self, self._generation, is_probe=False)
            elif self._state is BreakerState.OPEN:
                rejection = CircuitOpenError(self.provider, self._half_open_at - now)
            elif self._probe_in_flight:
                rejection = CircuitOpenError(self.provider, 0.0, probe_in_flight=True)
            else:
                self._probe_in_flight = True
                permit = Permit(self, self._generation, is_probe=True)
        self._log(transition)
        if rejection is not None:
            raise rejection
        assert permit is not None
        return permit

    def call(
        self,
        fn: Callable[..., T],
        *args: Any,
        counts_as_failure: Callable[[Exception], bool] = lambda error: True,
        **kwargs: Any,
    ) -> T:
        """Run `fn` under the breaker; an exception counts as a failure if `counts_as_failure` says so,
        otherwise as a success (the provider answered; the error is ours)."""
        permit = self.acquire()
        try:
            result = fn(*args, **kwargs)
        except BaseException as error:
            if not isinstance(error, Exception):
                permit.abandon()
            elif counts_as_failure(error):
                permit.record_failure()
            else:
                permit.record_success()
            raise
        permit.record_success()
        return result

    # --- outcomes (called through Permit) ----------------------------------------------

    def _on_success(self, permit: Permit) -> None:
        with self._lock:
            transition = None
            if permit._generation != self._generation:
                pass
            elif permit.is_probe:
                self._probe_in_flight = False
                self._failure_times.clear()
                transition = self._move_to(BreakerState.CLOSED, self._clock())
            else:
                self._failure_times.clear()
        self._log(transition)

    def _on_failure(self, permit: Permit) -> None:
        with self._lock:
            transition = None
            now = self._clock()
            if permit._generation != self._generation:
                pass
            elif permit.is_probe:
                self._probe_in_flight = False
                transition = self._open(now)
            else:
                self._remember_failure(now)
                if len(self._failure_times) >= self.policy.failure_threshold:
                    transition = self._open(now)
        self._log(transition)

    def _on_abandon(self, permit: Permit) -> None:
        with self._lock:
            if permit.is_probe and permit._generation == self._generation:
                self._probe_in_flight = False

    # --- state machine (lock held) ----------------------------------------------------

    def _remember_failure(self, now: float) -> None:
        self._failure_times.append(now)
        self._forget_failures_before(now - self.policy.window_seconds)

    def _forget_failures_before(self, window_start: float) -> None:
        while self._failure_times and self._failure_times[0] <= window_start:
            self._failure_times.popleft()

    def _open(self, now: float) -> _Transition:
        self._half_open_at = now + self.policy.open_seconds
        return self._move_to(BreakerState.OPEN, now)

    def _half_open_if_due(self, now: float) -> _Transition | None:
        if self._state is BreakerState.OPEN and now >= self._half_open_at:
            return self._move_to(BreakerState.HALF_OPEN, now)
        return None

    def _move_to(self, new_state: BreakerState, now: float) -> _Transition:
        transition = _Transition(self._state, new_state, len(self._failure_times), now)
        self._state = new_state
        self._generation += 1
        if new_state is BreakerState.CLOSED:
            self._failure_times.clear()
        return transition

    # --- logging (lock released) ------------------------------------------------------

    def _log(self, transition: _Transition | None) -> None:
        if transition is None:
            return
        fields: dict[str, Any] = {
            "provider": self.provider,
            "from_state": transition.from_state.value,
            "to_state": transition.to_state.value,
            "consecutive_failures": transition.consecutive_failures,
        }
        if transition.to_state is BreakerState.OPEN:
            fields["half_open_in_seconds"] = self.policy.open_seconds
            log.warning("provider.circuit.opened", extra={"fields": fields})
        elif transition.to_state is BreakerState.HALF_OPEN:
            log.info("provider.circuit.half_open", extra={"fields": fields})
        else:
            log.info("provider.circuit.closed", extra={"fields": fields})
        for listener in list(_listeners):
            try:
                listener(self.provider, transition.from_state, transition.to_state)
            except Exception:  # noqa: BLE001 - observing a breaker never changes it
                log.warning("breaker transition listener failed", exc_info=True)
