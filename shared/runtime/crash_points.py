"""Named places between two effects where a process can die, for fault injection.

Production code calls `crash_point(name, **context)` at each; with nothing installed it is a
no-op. A test or `--chaos` installs an injector that may, at that point:

- raise `SimulatedCrash`, a BaseException: no `except Exception` cleanup runs and the message
  is never acknowledged, as when the process dies (the embedded bus redelivers it once its
  ack deadline passes);
- kill the real process with SIGKILL (`KillAt`, for tests that restart it);
- raise an ordinary error after the effect happened (a publish that timed out after Pub/Sub
  accepted it);
- let another delivery take the run's lease (a handler slower than its lease).
"""
from __future__ import annotations

import os
import random
import signal
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

FANIN_CLAIMED = "fanin.claimed"                   # a trigger is claimed, not yet published
PROCESSOR_HALF_LOADED = "processor.half_loaded"   # side outputs loaded, the main table not
PROCESSOR_LOADED = "processor.loaded"             # loaded, the run not yet recorded
PROCESSOR_RECORDED = "processor.recorded"         # recorded, the completion not yet published
PUBLISH_DELIVERED = "publish.delivered"           # Pub/Sub accepted a message; the caller may not hear so
LEASE_OUTLIVED = "processor.lease_outlived"       # loaded, but the lease ran out meanwhile
FANOUT_CHUNK_PUBLISHED = "fanout.chunk_published"  # a chunk of prediction requests published, not recorded
PREDICTIONS_WRITTEN = "predictions.written"       # a player's predictions appended, not yet marked done
SETTLEMENT_BATCH_APPLIED = "settlement.batch_applied"    # one batch of points committed, the next not yet
SETTLEMENT_POINTS_WRITTEN = "settlement.points_written"  # every batch committed, the leaderboards not refreshed
SETTLEMENT_PROJECTED = "settlement.projected"            # leaderboards refreshed, the outcome not marked applied
INGESTION_UPSERTED = "ingestion.upserted"    # a snapshot's rows upserted, its settlements not enqueued, not marked
INGESTION_REPORTED = "ingestion.reported"    # the report stored and announced, the execution not finished
WAREHOUSE_BATCH_CLAIMED = "warehouse.batch_claimed"  # the embedded warehouse wrote a batch's ledger row, not its rows

POINTS = (FANIN_CLAIMED, PROCESSOR_HALF_LOADED, PROCESSOR_LOADED, PROCESSOR_RECORDED, PUBLISH_DELIVERED,
          LEASE_OUTLIVED, FANOUT_CHUNK_PUBLISHED, PREDICTIONS_WRITTEN)
# The settlement's own places (shared.tournaments.settlement); its --chaos run fires these.
SETTLEMENT_POINTS = (SETTLEMENT_BATCH_APPLIED, SETTLEMENT_POINTS_WRITTEN, SETTLEMENT_PROJECTED)
# The ingestion worker's (shared.ingestion.worker).
INGESTION_POINTS = (INGESTION_UPSERTED, INGESTION_REPORTED)
# Inside one warehouse transaction (shared.adapters.local.warehouse): for kill tests, never --chaos.
WAREHOUSE_POINTS = (WAREHOUSE_BATCH_CLAIMED,)
ALL_POINTS = POINTS + SETTLEMENT_POINTS + INGESTION_POINTS + WAREHOUSE_POINTS


class SimulatedCrash(BaseException):
    """The process died here (BaseException, so handlers' `except Exception` cannot catch it)."""


class PublishTimedOut(TimeoutError):
    """The publish call timed out — after the message was accepted."""


class Injector(Protocol):
    def at(self, point: str, context: dict[str, Any]) -> None: ...


_installed: Injector | None = None
_lock = threading.Lock()


def crash_point(point: str, **context: Any) -> None:
    injector = _installed
    if injector is not None:
        injector.at(point, context)


def install(injector: Injector | None) -> None:
    global _installed
    with _lock:
        _installed = injector


@dataclass
class SeededCrashes:
    """`--chaos`: each point fires with its probability, seeded; `counts` says what fired."""
    seed: int
    probability: float = 0.04
    counts: Counter = field(default_factory=Counter)
    # Points reached only a few times a date (the box-score load's side output; a fan-out's few
    # chunks) fire more often.
    per_point: dict[str, float] = field(default_factory=lambda: {PROCESSOR_HALF_LOADED: 0.5,
                                                                 FANOUT_CHUNK_PUBLISHED: 0.3})

    def __post_init__(self) -> None:
        self._random = random.Random(f"crashes-{self.seed}")
        self._fired: set[tuple[str, Any]] = set()

    def at(self, point: str, context: dict[str, Any]) -> None:
        if point in WAREHOUSE_POINTS:
            return  # for kill tests only: a --chaos run draws exactly the crashes it drew before
        if self._random.random() >= self.per_point.get(point, self.probability):
            return
        # Each place dies at most once per subject (processor, trigger target or topic): a crash
        # is a fault to recover from, not a permanent defect that no retry can get past.
        subject = (point, context.get("processor") or context.get("target") or context.get("topic")
                   or context.get("batch"))
        if subject in self._fired:
            return
        self._fired.add(subject)
        self.counts[point] += 1
        fire(point, context)


def fire(point: str, context: dict[str, Any]) -> None:
    """What happening at `point` means (shared by the seeded injector and tests)."""
    if point == PUBLISH_DELIVERED:
        raise PublishTimedOut("chaos: the publish timed out after Pub/Sub accepted the message")
    if point == LEASE_OUTLIVED:
        context["usurp"]()  # another delivery of the same trigger takes the expired lease
        return
    raise SimulatedCrash(f"chaos: process died at {point}")


@dataclass
class CrashOnce:
    """Raise SimulatedCrash the first time `point` is reached (tests); `fired` counts the crashes."""
    point: str
    fired: int = 0

    def at(self, point: str, context: dict[str, Any]) -> None:
        if point == self.point and not self.fired:
            self.fired += 1
            raise SimulatedCrash(f"died at {point}")


@dataclass
class KillAt:
    """Kill this process with SIGKILL the `nth` time `point` is reached."""
    point: str
    nth: int = 1
    seen: int = 0

    def at(self, point: str, context: dict[str, Any]) -> None:
        if point != self.point:
            return
        self.seen += 1
        if self.seen == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)

    @classmethod
    def from_env(cls, variable: str = "SPORTSFLOW_KILL_AT") -> "KillAt | None":
        """`SPORTSFLOW_KILL_AT=point[:nth]`, for a process a test starts and kills."""
        spec = os.environ.get(variable)
        if not spec:
            return None
        point, _, nth = spec.partition(":")
        if point not in ALL_POINTS:
            raise ValueError(f"{variable}={spec!r}: unknown point; known: {', '.join(ALL_POINTS)}")
        return cls(point, int(nth or 1))
