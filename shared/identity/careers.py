"""Career-span evidence from NBA.com person ids: who cannot have played on a date.

NBA.com gave person ids in eras, so an id bounds when its person's career began:

- 76001–79999: the historical players, whose careers ended before the 1996-97 season (the
  first season of NBA.com's play-by-play era);
- below 1000: the players of the mid-1990s (Michael Jordan is 893, Kobe Bryant 977), who
  debuted in 1998 at the latest.

No NBA career has lasted more than `LONGEST_CAREER_SEASONS` seasons (LeBron James: 2003-04 to
2024-25 is 22), so a person of these eras cannot play after the bound below. Every other id
says nothing here (a 2003 debut is id 2544, still active in 2025): `could_play` is then True.
This tells a retired namesake ("Johnny Davis", 76526, 1979-1986) from the current player
(1631098) on a 2024-25 date, without any look-ahead: the ids are known before tip-off.
"""
from __future__ import annotations

from datetime import date

LONGEST_CAREER_SEASONS = 23
# (first id, last id, the latest season a career of this era can have started in)
_ERAS = ((76001, 79999, 1996), (1, 999, 1998))


def latest_possible_season(person_id: int) -> int | None:
    """The start year of the last season this person could have played, or None (no bound)."""
    for first, last, latest_debut in _ERAS:
        if first <= person_id <= last:
            return latest_debut + LONGEST_CAREER_SEASONS - 1
    return None


def could_play(person_id: int, game_date: date) -> bool:
    latest = latest_possible_season(person_id)
    return latest is None or season_start_year(game_date) <= latest


def season_start_year(game_date: date) -> int:
    """NBA seasons start in October: 2025-01-15 is in the 2024-25 season."""
    return game_date.year if game_date.month >= 8 else game_date.year - 1
