"""The one state-transition rule every provider write goes through (push, poll or reconcile).

- Monotonic (invariant 3): a write is accepted only when its `provider_update_time` is greater
  than the stored one; an equal one is a duplicate, an older one stale; both change nothing.
- `provider_update_time` is the payload's (invariant 11); `last_event_ts` and `updated_at` are
  the ingestion time on the store's clock (invariant 12).
- Kickoffs (invariants 8, 15): each is set once, only on its transition (→2 first half, 3→4
  second half, 4→5 overtime), to the provider's period kickoff if it sent one, else the
  ingestion time; never overwritten.
- Frozen statuses 3/7/8/9/10 keep the stored minute (invariant 10) and show their text.
- A status change into a running period shows its minute at once (the minute engine keeps it going).

Pure: no store, no clock; `store.MatchStore` runs it inside a transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from shared.live.minute import minute_of
from shared.live.model import LiveProviderUpdate
from shared.live.status import KICKOFF_TRANSITIONS, RUNNING_CLOCK, STATUS_TEXT

Verdict = Literal["accepted", "duplicate", "stale"]


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.verdict == "accepted"


def decide(stored: dict[str, Any], update: LiveProviderUpdate, ingested_at: int) -> Decision:
    """The changes `update` makes to the stored match document, or why it makes none."""
    current = stored.get("provider_update_time")
    if current is not None and update.provider_update_time <= current:
        return Decision("duplicate" if update.provider_update_time == current else "stale")
    previous_status = stored["status_id"]
    changes: dict[str, Any] = {
        "status_id": update.status_id,
        "home_score": update.home_score,
        "away_score": update.away_score,
        "provider_update_time": update.provider_update_time,
        "last_event_ts": ingested_at,
        "updated_at": ingested_at,
    }
    if update.status_id != previous_status:
        changes["status_since_ts"] = ingested_at
        changes.update(_kickoffs(stored, previous_status, update, ingested_at))
        changes.update(_minute_on_entering(stored | changes, ingested_at))
    return Decision("accepted", changes)


def _kickoffs(stored: dict[str, Any], previous: int, update: LiveProviderUpdate, ingested_at: int) -> dict[str, int]:
    kickoffs: dict[str, int] = {}
    for name, transitions in KICKOFF_TRANSITIONS.items():
        if stored.get(name) is not None:
            continue  # write-once
        if any(new == update.status_id and before in (None, previous) for before, new in transitions):
            kickoffs[name] = update.kickoff_ts if update.kickoff_ts is not None else ingested_at
    return kickoffs


def _minute_on_entering(state: dict[str, Any], now: int) -> dict[str, Any]:
    status_id = state["status_id"]
    if status_id in RUNNING_CLOCK:
        shown = minute_of(state, now)
        return {"minute": shown.minute, "minute_text": shown.text}
    return {"minute_text": STATUS_TEXT[status_id]}  # the stored minute is kept, never nulled
