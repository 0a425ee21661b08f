"""Dates the source's schedule lists no game for: recorded, so `status` and the console can say
so, and nothing downstream is triggered for them (there is nothing to load or predict).

    record(documents, date(2024, 12, 24), "synthetic")
    no_games_on(documents, date(2024, 12, 24))   # {"source": "synthetic", "checked_at": ...}
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.ports.documents import DocumentStore

COLLECTION = "no_game_dates"


def record(documents: "DocumentStore", day: date, source: str) -> None:
    documents.set(f"{COLLECTION}/{day.isoformat()}", {"game_date": day.isoformat(), "source": source,
                                                      "checked_at": documents.now()})


def no_games_on(documents: "DocumentStore", day: date) -> dict[str, Any] | None:
    document = documents.get(f"{COLLECTION}/{day.isoformat()}")
    return dict(document.data) if document else None
