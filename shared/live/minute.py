"""The match minute and its text, from the kickoff timestamps (the only place minutes are computed).

First half counts from 1 at its kickoff, second half from 46, overtime from 91; past a period's
regular end the text shows added time: `45+2'`, `90+3'`, `120+1'`. Statuses without a running
clock have a fixed text (`HT`, `FT`, ...) and keep their stored minute (invariant 10).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from shared.live.status import RUNNING_CLOCK, STATUS_TEXT


class Period(NamedTuple):
    kickoff_field: str
    first_minute: int
    regular_end: int


PERIODS: dict[int, Period] = {
    2: Period("first_half_kickoff_ts", 1, 45),
    4: Period("second_half_kickoff_ts", 46, 90),
    5: Period("overtime_kickoff_ts", 91, 120),
}


@dataclass(frozen=True)
class Minute:
    minute: int | None
    text: str


def running_minute(status_id: int, kickoff_ts: int, now: int) -> Minute:
    """The minute of a running period that kicked off at `kickoff_ts` (clock before kickoff: its first minute)."""
    _, first, regular_end = PERIODS[status_id]
    minute = first + max(0, now - kickoff_ts) // 60
    if minute > regular_end:
        return Minute(minute, f"{regular_end}+{minute - regular_end}'")
    return Minute(minute, f"{minute}'")


def minute_of(state: dict, now: int) -> Minute:
    """What the minute engine would show for a stored match now.

    A running status without its kickoff timestamp (its transition was never seen: invariant
    15 forbids inventing one) keeps the stored minute and text."""
    status_id = state["status_id"]
    stored = Minute(state.get("minute"), state.get("minute_text") or "")
    if status_id in RUNNING_CLOCK:
        kickoff = state.get(PERIODS[status_id].kickoff_field)
        return stored if kickoff is None else running_minute(status_id, kickoff, now)
    return Minute(stored.minute, STATUS_TEXT.get(status_id, stored.text))
