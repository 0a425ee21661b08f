"""Basketball formulas, each a small pure function with its definition and source.

Conventions: a ratio whose denominator is zero (or missing) is None, never 0 or an error —
a player with no shot attempts has no true-shooting percentage. Percentages are fractions
(0.55, not 55) except the rates that are conventionally "per 100" (ratings, usage rate,
pace). Team minutes are NBA.com's: the sum of the players' minutes (240 in regulation).
Sources: Dean Oliver, "Basketball on Paper" (2004); Basketball-Reference glossary
(https://www.basketball-reference.com/about/glossary.html).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

FREE_THROW_POSSESSION_WEIGHT = 0.44  # share of free-throw attempts that end a possession
REGULATION_GAME_MINUTES = 48
PLAYERS_ON_COURT = 5


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def rounded(value: float | None, digits: int = 4) -> float | None:
    """Stored floats are rounded so reruns give byte-identical partitions."""
    return None if value is None else round(float(value), digits)


def possessions(fga: float, oreb: float, tov: float, fta: float) -> float:
    """Possessions a team used ≈ FGA − OREB + TOV + 0.44·FTA (Oliver's simple estimate)."""
    return fga - oreb + tov + FREE_THROW_POSSESSION_WEIGHT * fta


def game_possessions(team_possessions: float, opponent_possessions: float) -> float:
    """Both teams have (nearly) the same possessions in a game: the average of the two
    estimates smooths the error of each (Basketball-Reference's Pace uses both teams)."""
    return (team_possessions + opponent_possessions) / 2


def pace(game_poss: float, team_minutes: float) -> float | None:
    """Possessions per 48 minutes = 48 · possessions / (team minutes / 5)."""
    return ratio(REGULATION_GAME_MINUTES * game_poss, team_minutes / PLAYERS_ON_COURT if team_minutes else None)


def offensive_rating(points: float, poss: float | None) -> float | None:
    """Points scored per 100 possessions."""
    return ratio(100 * points, poss)


def defensive_rating(points_allowed: float, poss: float | None) -> float | None:
    """Points allowed per 100 possessions."""
    return ratio(100 * points_allowed, poss)


def true_shooting_pct(points: float, fga: float, fta: float) -> float | None:
    """TS% = PTS / (2 · (FGA + 0.44·FTA)): scoring efficiency counting threes and free throws."""
    return ratio(points, 2 * (fga + FREE_THROW_POSSESSION_WEIGHT * fta))


def effective_fg_pct(fgm: float, fg3m: float, fga: float) -> float | None:
    """eFG% = (FGM + 0.5·3PM) / FGA: field-goal percentage with a three worth 1.5 twos."""
    return ratio(fgm + 0.5 * fg3m, fga)


def usage_rate(fga: float, fta: float, tov: float, minutes: float,
               team_fga: float, team_fta: float, team_tov: float, team_minutes: float) -> float | None:
    """USG% = 100 · (FGA + 0.44·FTA + TOV) · (TmMP / 5) / (MP · (TmFGA + 0.44·TmFTA + TmTOV)):
    the share of team plays a player used while on the floor (Basketball-Reference)."""
    player_plays = fga + FREE_THROW_POSSESSION_WEIGHT * fta + tov
    team_plays = team_fga + FREE_THROW_POSSESSION_WEIGHT * team_fta + team_tov
    return ratio(100 * player_plays * (team_minutes / PLAYERS_ON_COURT), minutes * team_plays)


def per_36(stat: float, minutes: float) -> float | None:
    """A counting stat scaled to 36 minutes: stat · 36 / minutes."""
    return ratio(36 * stat, minutes)


def turnover_pct(tov: float, fga: float, fta: float) -> float | None:
    """TOV% = TOV / (FGA + 0.44·FTA + TOV): turnovers per play (Oliver's four factors)."""
    return ratio(tov, fga + FREE_THROW_POSSESSION_WEIGHT * fta + tov)


def offensive_rebound_pct(oreb: float, opponent_dreb: float) -> float | None:
    """OREB% = OREB / (OREB + opponent DREB): share of own misses rebounded."""
    return ratio(oreb, oreb + opponent_dreb)


def free_throw_rate(fta: float, fga: float) -> float | None:
    """FTr = FTA / FGA."""
    return ratio(fta, fga)


def three_point_attempt_rate(fg3a: float, fga: float) -> float | None:
    """3PAr = 3PA / FGA: share of field-goal attempts taken from three."""
    return ratio(fg3a, fga)


def shot_zone_points(fgm: float, fg3m: float, ftm: float) -> dict[str, float]:
    """Points by box-score zone: threes (3·3PM), twos (2·(FGM − 3PM)), free throws (FTM).
    A box score has no shot locations, so these three are our 'zones'."""
    return {"three": 3 * fg3m, "two": 2 * (fgm - fg3m), "free_throw": ftm}


def win_pct(wins: int, games: int) -> float | None:
    return ratio(wins, games)


def mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def clamp(value: float | None, low: float, high: float) -> float | None:
    return None if value is None else max(low, min(high, value))


def season_start(day: date) -> date:
    """First day of the NBA season `day` belongs to: seasons start in October and end by
    July, so a season runs from August 1 to July 31."""
    year = day.year if day.month >= 8 else day.year - 1
    return date(year, 8, 1)
