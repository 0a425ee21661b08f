"""Provider faults for the local provider server: what a flaky sports API does to its clients.

Three kinds of fault, decided per request:

- error: answer with a 5xx status (503 by default) and a short JSON error body;
- hang: hold the request without answering (longer than any client timeout), then drop the
  connection — the client sees a read timeout;
- slow: answer correctly, but only after a delay shorter than the client timeout.

Two ways to ask for them, checked in this order:

1. an outage (`start_outage()` … `end_outage()`): every request fails until cleared;
2. scripted rules (tests): `fail_next(2, route="/schedule", status=500)`, `hang_next(1)`,
   `slow_next(3)`: the next N matching requests get that fault, oldest rule first;
3. seeded random rates: `ProviderFaults(seed=7, error_rate=0.05, hang_rate=0.01, ...)`; the
   same seed and the same request order give the same faults. `ProviderFaults.chaos(seed)`
   is the preset behind `--chaos SEED`.
"""
from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["error", "hang", "slow"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 503  # for "error"
    seconds: float = 0.0  # for "hang" and "slow"


@dataclass
class _Rule:
    fault: Fault
    remaining: int
    route: str | None  # None: any route


class ProviderFaults:
    """Thread-safe: the provider server asks `decide(route)` from many request threads."""

    def __init__(self, seed: int = 0, *, error_rate: float = 0.0, hang_rate: float = 0.0, slow_rate: float = 0.0,
                 error_status: int = 503, hang_seconds: float = 30.0, slow_seconds: float = 0.5) -> None:
        for name, rate in (("error_rate", error_rate), ("hang_rate", hang_rate), ("slow_rate", slow_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {rate}")
        if error_rate + hang_rate + slow_rate > 1.0:
            raise ValueError("error_rate + hang_rate + slow_rate must not exceed 1")
        self.seed = seed
        self.error_rate, self.hang_rate, self.slow_rate = error_rate, hang_rate, slow_rate
        self.error_status, self.hang_seconds, self.slow_seconds = error_status, hang_seconds, slow_seconds
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._rules: list[_Rule] = []
        self._outage_status: int | None = None
        self.injected: Counter[str] = Counter()  # fault kind -> how many were injected

    @classmethod
    def chaos(cls, seed: int) -> ProviderFaults:
        """Moderate chaos that the client's two retries usually absorb: a call fails all three
        attempts with probability 0.055³ ≈ 2e-4. Each hang costs the client its timeout (5 s),
        so hangs are rare (a season's ~870 requests see about 4); slow answers stay well under
        the timeout."""
        return cls(seed, error_rate=0.05, hang_rate=0.005, slow_rate=0.03, hang_seconds=8.0, slow_seconds=0.3)

    # --- scripting (tests) ----------------------------------------------------------------
    def fail_next(self, count: int, *, route: str | None = None, status: int = 500) -> None:
        self._add(Fault("error", status=status), count, route)

    def hang_next(self, count: int, *, route: str | None = None, seconds: float | None = None) -> None:
        self._add(Fault("hang", seconds=self.hang_seconds if seconds is None else seconds), count, route)

    def slow_next(self, count: int, *, route: str | None = None, seconds: float | None = None) -> None:
        self._add(Fault("slow", seconds=self.slow_seconds if seconds is None else seconds), count, route)

    def start_outage(self, status: int = 503) -> None:
        with self._lock:
            self._outage_status = status

    def end_outage(self) -> None:
        with self._lock:
            self._outage_status = None

    def clear(self) -> None:
        """Forget scripted rules and end any outage (random rates stay)."""
        with self._lock:
            self._rules.clear()
            self._outage_status = None

    # --- deciding (the server) --------------------------------------------------------------
    def decide(self, route: str) -> Fault | None:
        with self._lock:
            fault = self._outage() or self._scripted(route) or self._random()
            if fault is not None:
                self.injected[fault.kind] += 1
            return fault

    def _outage(self) -> Fault | None:
        return None if self._outage_status is None else Fault("error", status=self._outage_status)

    def _scripted(self, route: str) -> Fault | None:
        for rule in self._rules:
            if rule.route in (None, route):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule.fault
        return None

    def _random(self) -> Fault | None:
        if not (self.error_rate or self.hang_rate or self.slow_rate):
            return None
        draw = self._rng.random()
        if draw < self.error_rate:
            return Fault("error", status=self.error_status)
        if draw < self.error_rate + self.hang_rate:
            return Fault("hang", seconds=self.hang_seconds)
        if draw < self.error_rate + self.hang_rate + self.slow_rate:
            return Fault("slow", seconds=self.slow_seconds)
        return None

    def _add(self, fault: Fault, count: int, route: str | None) -> None:
        if count < 1:
            raise ValueError(f"count must be >= 1, got {count}")
        with self._lock:
            self._rules.append(_Rule(fault, count, route))
