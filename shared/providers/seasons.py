"""The seasons a provider source knows, and the error for a date outside all of them.

    check_in_season(source, date(2031, 3, 1))   # OutOfSeason: "... knows 2024-25 (2024-10-22..2025-04-13)"

A date inside a season may still have no games (Christmas Eve, the All-Star break): that is
not an error, the run says so (see `shared.pipeline.runner`). A date outside every season
is one: the source has nothing for it, and a run would only print zeros.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, order=True)
class Season:
    first: date  # first game date
    last: date  # last game date
    label: str = ""

    def __init__(self, label: str, first: date, last: date) -> None:
        object.__setattr__(self, "label", label)
        object.__setattr__(self, "first", first)
        object.__setattr__(self, "last", last)

    def __str__(self) -> str:
        return f"{self.label} ({self.first}..{self.last})"


class OutOfSeason(ValueError):
    """The date is outside every season the source knows."""


def seasons_of(source: Any) -> list[Season]:
    """The source's seasons; a source that does not say (a test double) knows every date."""
    seasons = getattr(source, "seasons", None)
    return list(seasons()) if callable(seasons) else []


def check_in_season(source: Any, day: date) -> None:
    seasons = seasons_of(source)
    if seasons and not any(s.first <= day <= s.last for s in seasons):
        known = ", ".join(map(str, seasons))
        raise OutOfSeason(f"{day} is outside every season {source.label} knows: {known}. Pick a date in "
                          "one of them (a source has no games, and nothing to predict, outside its seasons)")
