"""Delivery faults the LocalBus can inject, the ones Pub/Sub really produces.

- duplicate delivery: a message is delivered twice (two leases, same message id);
- reordering: any deliverable message may go next, except that an ordering key's
  messages still come in order;
- lost ack: the handler ran (its effect happened) but the ack never arrives, so the
  message is redelivered when its ack deadline expires.

A `FaultPlan` is the seeded description (what `--chaos SEED` builds); the bus turns it into
a `FaultInjector`, whose counters prove each fault actually happened.
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultPlan:
    seed: int = 0
    duplicate_probability: float = 0.0
    reorder: bool = False
    lost_ack_probability: float = 0.0

    def __post_init__(self) -> None:
        for name in ("duplicate_probability", "lost_ack_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")

    @classmethod
    def none(cls) -> "FaultPlan":
        return cls()

    @classmethod
    def chaos(cls, seed: int) -> "FaultPlan":
        """Every fault at once, often enough to matter, rarely enough to finish."""
        return cls(seed=seed, duplicate_probability=0.2, reorder=True, lost_ack_probability=0.1)

    @property
    def injects_anything(self) -> bool:
        return self.duplicate_probability > 0 or self.reorder or self.lost_ack_probability > 0


@dataclass
class FaultCounts:
    duplicated: int = 0
    reordered: int = 0
    acks_lost: int = 0


class FaultInjector:
    """Seeded decisions; the bus calls it under its lock, so a drain is reproducible."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.counts = FaultCounts()
        self._random = random.Random(plan.seed)

    def copies_to_deliver(self) -> int:
        if self.plan.duplicate_probability and self._random.random() < self.plan.duplicate_probability:
            self.counts.duplicated += 1
            return 2
        return 1

    def choose_next(self, candidate_count: int) -> int:
        """Index of the deliverable candidate to deliver next (candidates in publish order)."""
        if not self.plan.reorder or candidate_count <= 1:
            return 0
        index = self._random.randrange(candidate_count)
        if index != 0:
            self.counts.reordered += 1
        return index

    def ack_lost(self) -> bool:
        if self.plan.lost_ack_probability and self._random.random() < self.plan.lost_ack_probability:
            self.counts.acks_lost += 1
            return True
        return False
