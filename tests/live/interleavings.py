"""Random interleavings of provider updates, minute ticks, watchdog reconciles and restarts.

A realistic provider timeline of one match (statuses in football order, scores, kickoffs, strictly
increasing provider_update_time) is delivered duplicated, reordered and stale, interleaved with
minute-engine ticks, watchdog passes whose forced reconcile gets some (maybe older) provider
state, clock jumps and restarts (the store closed and reopened, every object rebuilt). Every
step is recorded as (operation, document before, document after), for the invariant tests.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from shared.adapters.local.documents import SqliteDocumentStore
from shared.live.diary import match_from_diary
from shared.live.engine import tick
from shared.live.model import LiveProviderUpdate
from shared.live.store import MatchStore
from shared.live.watchdog import Watchdog
from tests.live.conftest import KICKOFF, FakeClock

MATCH = "m1"
# football order; a cup match may go on to overtime and penalties
_REGULAR = [2, 3, 4]
_ENDINGS = [[8], [5, 8], [5, 7, 8]]


@dataclass(frozen=True)
class Step:
    op: tuple
    before: dict[str, Any]
    after: dict[str, Any]
    before_version: str
    after_version: str
    now: int


@st.composite
def timelines(draw) -> list[LiveProviderUpdate]:
    statuses = ([9] if draw(st.booleans()) else []) + list(_REGULAR) + draw(st.sampled_from(_ENDINGS))
    if draw(st.booleans()):  # an interruption, then play resumes in the same status
        at = draw(st.integers(0, len(statuses) - 2))
        if statuses[at] in (2, 4, 5):
            statuses[at + 1:at + 1] = [10, statuses[at]]
    timeline, ptu, home, away = [], draw(st.integers(1_000, 10_000)), 0, 0
    for status in statuses:
        for _ in range(draw(st.integers(1, 3))):  # score changes within a status
            ptu += draw(st.integers(1, 600))
            if status in (2, 4, 5) and draw(st.booleans()):
                home, away = (home + 1, away) if draw(st.booleans()) else (home, away + 1)
            kickoff = KICKOFF + ptu if draw(st.booleans()) else None
            timeline.append(LiveProviderUpdate(match_id=MATCH, status_id=status, provider_update_time=ptu,
                                               home_score=home, away_score=away, kickoff_ts=kickoff))
    return timeline


def operations(size: int) -> st.SearchStrategy[list[tuple]]:
    index = st.integers(0, size - 1)
    return st.lists(st.one_of(
        st.tuples(st.just("deliver"), index),
        st.tuples(st.just("deliver"), index),
        st.tuples(st.just("tick")),
        st.tuples(st.just("advance"), st.integers(1, 1000)),
        st.tuples(st.just("watchdog"), st.one_of(st.none(), index)),
        st.tuples(st.just("restart")),
    ), min_size=1, max_size=40)


@st.composite
def scenarios(draw) -> tuple[list[LiveProviderUpdate], list[tuple]]:
    timeline = draw(timelines())
    ops = draw(operations(len(timeline)))
    # finally everything arrives once more, in order: the store must converge to the newest state
    return timeline, ops + [("deliver", i) for i in range(len(timeline))]


class Run:
    def __init__(self, timeline: list[LiveProviderUpdate]):
        self.timeline = timeline
        self.clock = FakeClock(KICKOFF - 60)
        self._dir = tempfile.TemporaryDirectory()
        self._path = Path(self._dir.name) / "documents.sqlite"
        self.steps: list[Step] = []
        self._open()
        self.store.create(match_from_diary({"match_id": MATCH, "match_time": KICKOFF, "cup": True}, self.store.now()))

    def _open(self) -> None:
        self.documents = SqliteDocumentStore(self._path, clock=self.clock)
        self.store = MatchStore(self.documents)
        self._poll_index: int | None = None
        self.watchdog = Watchdog(self.store, self._poll)

    def _poll(self, match_id: str) -> LiveProviderUpdate | None:
        return None if self._poll_index is None else self.timeline[self._poll_index]

    def play(self, ops: list[tuple]) -> "Run":
        try:
            for op in ops:
                before = self.documents.get(f"live_matches/{MATCH}")
                self._do(op)
                after = self.documents.get(f"live_matches/{MATCH}")
                self.steps.append(Step(op, before.data, after.data, before.version, after.version,
                                       int(self.clock.seconds)))
        finally:
            self.documents.close()
            self._dir.cleanup()
        return self

    def _do(self, op: tuple) -> None:
        kind = op[0]
        if kind == "deliver":
            self.clock.advance(1)
            self.store.apply(self.timeline[op[1]])
        elif kind == "tick":
            tick(self.store)
        elif kind == "advance":
            self.clock.advance(op[1])
        elif kind == "watchdog":
            self._poll_index = op[1]
            self.watchdog.run()
        elif kind == "restart":
            self.documents.close()
            self._open()

    def update_of(self, step: Step) -> LiveProviderUpdate | None:
        """The provider update a step offered for writing (a delivery or a reconcile's poll)."""
        if step.op[0] in ("deliver", "watchdog") and step.op[1] is not None:
            return self.timeline[step.op[1]]
        return None
