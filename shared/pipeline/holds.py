"""The backfill switch, per date: a date whose raw tables were loaded with Phase 3 switched off
(`backfill --raw-only`, SPORTSFLOW_PHASE3_TRIGGER=off) is *held* until someone releases it
(`sportsflow release`, or a run of the date with the switch on). Nothing automatic — the
reconciler, a re-driven trigger, a re-announced completion — may start Phase 3 for it."""
from __future__ import annotations

from datetime import date

from shared.ports.documents import DocumentStore

COLLECTION = "held_dates"


def path_of(day: date) -> str:
    return f"{COLLECTION}/{day.isoformat()}"


def hold(documents: DocumentStore, day: date) -> None:
    documents.create(path_of(day), {"date": day.isoformat(), "held_at": documents.now()})


def is_held(documents: DocumentStore, day: date) -> bool:
    return documents.get(path_of(day)) is not None


def release(documents: DocumentStore, day: date) -> bool:
    """True if the date was held."""
    if not is_held(documents, day):
        return False
    documents.delete(path_of(day))
    return True
