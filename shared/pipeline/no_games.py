"""Dates the source's schedule lists no game for: recorded, so `status` and the console can say
so, and nothing downstream is triggered for them (there is nothing to load or predict).

    record(documents, date(2024, 12, 24), "synthetic")
    no_games_on(documents, date(2024, 12, 24))   # {"source": "synthetic", "checked_at": ...}
"""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from shared.ports.documents import DocumentStore

COLLECTION = "no_game_dates"


def record(documents: "DocumentStore", day: date, source: str) -> None:
    documents.set(f"{COLLECTION}/{day.isoformat()}", {"game_date": day.isoformat(), "source": source,
                                                      "checked_at": documents.now()})


def no_games_on(documents: "DocumentStore", day: date) -> dict[str, Any] | None:
    document = documents.get(f"{COLLECTION}/{day.isoformat()}")
    return dict(document.data) if document else None


def schedule_lists_games(get_json: Callable[[str, dict[str, str]], Any], day: date) -> bool:
    """Whether the provider's schedule for `day` lists a game, asked as the schedule scraper asks
    (`get_json(path, params)`). Anything that is not a schedule counts as "has games": the scraper
    itself will then say what is wrong, with a dead letter."""
    from shared.pipeline.phase1 import SCRAPER_PATHS
    body = get_json(SCRAPER_PATHS["schedule"], {"date": day.isoformat()})
    games = body.get("games") if isinstance(body, dict) else None
    return games is None or bool(games)
