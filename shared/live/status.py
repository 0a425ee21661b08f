"""The provider's match status ids (seed 001) and the sets the rules are written in."""
from __future__ import annotations

from enum import IntEnum


class MatchStatus(IntEnum):
    NOT_STARTED = 1
    FIRST_HALF = 2
    HALF_TIME = 3
    SECOND_HALF = 4
    OVERTIME = 5
    PENALTIES = 7
    ENDED = 8
    DELAYED = 9
    INTERRUPTED = 10


KNOWN_STATUS_IDS = frozenset(int(s) for s in MatchStatus)  # = shared.contracts.live.KNOWN_STATUS_IDS
LIVE = frozenset({2, 3, 4, 5, 7})
"""Statuses a match is "live" in: watched for staleness, listed by /matches/live."""
RUNNING_CLOCK = frozenset({2, 4, 5})
"""Statuses whose minute the minute engine computes from a kickoff timestamp."""
FROZEN = frozenset({3, 7, 8, 9, 10})
"""Statuses that keep the stored minute (invariant 10): never computed, never nulled."""

STATUS_TEXT: dict[int, str] = {1: "NS", 3: "HT", 7: "PEN", 8: "FT", 9: "DELAYED", 10: "INT"}
"""minute_text of the statuses whose text is not a minute."""

# Kickoff field -> the transitions (previous status, new status) that set it (invariant 15).
# None as previous status: any status other than the new one ("→ 2").
KICKOFF_TRANSITIONS: dict[str, tuple[tuple[int | None, int], ...]] = {
    "first_half_kickoff_ts": ((None, 2),),
    "second_half_kickoff_ts": ((3, 4),),
    "overtime_kickoff_ts": ((4, 5),),
}
KICKOFF_FIELDS = tuple(KICKOFF_TRANSITIONS)
