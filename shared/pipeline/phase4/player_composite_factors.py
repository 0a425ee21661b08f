"""player_composite_factors: for each expected player on D (upcoming_player_game_context),
the adjustments a prediction applies to his baseline, each a small documented formula:

- form_factor: (points last 5 − season points per game) / std of points over the last 10,
  clamped to ±3 — how hot or cold he runs, in his own spreads.
- minutes_trend, usage_trend: recent minus season (a role growing or shrinking).
- fatigue_factor: 1 − 0.2 if back-to-back − 0.05 per game beyond 3 in the last 7 days
  − 0.01 per minute of recent load beyond 32, clamped to [0, 1].
- pace_factor: mean of both teams' season pace / league pace − 1 (more possessions, more stats).
- opponent_strength_factor: opponent defensive rating / league rating − 1 (positive: softer).
- matchup_zone_factor: Σ over zones of his points share × the opponent's allowed-vs-league
  in that zone (positive: the opponent concedes where he scores).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase4.base import PrecomputeProcessor
from shared.pipeline.phase4.tables import PLAYER_COMPOSITE_FACTORS, ZONES
from shared.pipeline.processor import ProcessorContext

BACK_TO_BACK_PENALTY = 0.2
DENSE_SCHEDULE_GAMES = 3
DENSE_SCHEDULE_PENALTY = 0.05
HEAVY_MINUTES = 32.0
HEAVY_MINUTES_PENALTY = 0.01
FORM_CLAMP = 3.0

SQL = f"""
WITH league AS (
  SELECT SUM(possessions) AS possessions, SUM(team_minutes) AS team_minutes, SUM(points) AS points
  FROM nba_analytics.team_offense_game_summary
  WHERE game_date < @d AND game_date >= @season_start
)
SELECT u.game_date, u.game_id, u.player_id, u.team_abbr, u.opponent_abbr, u.is_back_to_back,
       u.games_last_7_days, u.minutes_avg_last5, u.team_pace, u.opponent_pace, u.opponent_defensive_rating,
       c.points_avg_last5, c.points_avg_season, c.points_std_last10, c.minutes_avg_season,
       c.usage_rate_last10, c.usage_rate_season,
       {", ".join(f"z.{zone}_points_share" for zone in ZONES)},
       {", ".join(f"t.{zone}_vs_league AS opp_{zone}_vs_league" for zone in ZONES)},
       l.possessions AS league_possessions, l.team_minutes AS league_team_minutes, l.points AS league_points
FROM nba_analytics.upcoming_player_game_context AS u
LEFT JOIN nba_precompute.player_daily_cache AS c ON c.game_date = u.game_date AND c.player_id = u.player_id
LEFT JOIN nba_precompute.player_shot_zone_analysis AS z ON z.game_date = u.game_date AND z.player_id = u.player_id
LEFT JOIN nba_precompute.team_defense_zone_analysis AS t
  ON t.game_date = u.game_date AND t.team_abbr = u.opponent_abbr
CROSS JOIN league AS l
WHERE u.game_date = @d
"""

FACTORS = ("form_factor", "minutes_trend", "usage_trend", "fatigue_factor", "pace_factor",
           "opponent_strength_factor", "matchup_zone_factor")


class PlayerCompositeFactors(PrecomputeProcessor):
    name = "player_composite_factors"
    reads = (Input("team_offense_game_summary", "before"), Input("upcoming_player_game_context"),
             Input("player_daily_cache"), Input("player_shot_zone_analysis"), Input("team_defense_zone_analysis"))
    output = PLAYER_COMPOSITE_FACTORS
    sql = SQL
    key_fields = ("game_id", "team_abbr", "player_id")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return composite_factors(row)


def form_factor(last5: float | None, season: float | None, spread: float | None) -> float | None:
    if last5 is None or season is None:
        return None
    return f.clamp(f.ratio(last5 - season, spread), -FORM_CLAMP, FORM_CLAMP)


def fatigue_factor(back_to_back: bool, games_last_7_days: int, minutes_last5: float | None) -> float:
    penalty = BACK_TO_BACK_PENALTY * back_to_back
    penalty += DENSE_SCHEDULE_PENALTY * max(0, games_last_7_days - DENSE_SCHEDULE_GAMES)
    penalty += HEAVY_MINUTES_PENALTY * max(0.0, (minutes_last5 or 0.0) - HEAVY_MINUTES)
    return f.clamp(1 - penalty, 0.0, 1.0)  # type: ignore[return-value]


def pace_factor(team_pace: float | None, opponent_pace: float | None, league_pace: float | None) -> float | None:
    if team_pace is None or opponent_pace is None or not league_pace:
        return None
    return (team_pace + opponent_pace) / 2 / league_pace - 1


def opponent_strength_factor(opponent_rating: float | None, league_rating: float | None) -> float | None:
    if opponent_rating is None or not league_rating:
        return None
    return opponent_rating / league_rating - 1


def matchup_zone_factor(shares: Mapping[str, float | None], opponent_vs_league: Mapping[str, float | None]
                        ) -> float | None:
    if any(shares[z] is None or opponent_vs_league[z] is None for z in ZONES):
        return None
    return sum(shares[z] * opponent_vs_league[z] for z in ZONES)  # type: ignore[operator]


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def composite_factors(row: Mapping[str, Any]) -> dict[str, Any]:
    league_pace = f.pace(row["league_possessions"], row["league_team_minutes"]) if row["league_team_minutes"] else None
    league_rating = f.offensive_rating(row["league_points"], row["league_possessions"]) \
        if row["league_points"] is not None else None
    factors = {
        "form_factor": form_factor(row["points_avg_last5"], row["points_avg_season"], row["points_std_last10"]),
        "minutes_trend": _difference(row["minutes_avg_last5"], row["minutes_avg_season"]),
        "usage_trend": _difference(row["usage_rate_last10"], row["usage_rate_season"]),
        "fatigue_factor": fatigue_factor(row["is_back_to_back"], row["games_last_7_days"], row["minutes_avg_last5"]),
        "pace_factor": pace_factor(row["team_pace"], row["opponent_pace"], league_pace),
        "opponent_strength_factor": opponent_strength_factor(row["opponent_defensive_rating"], league_rating),
        "matchup_zone_factor": matchup_zone_factor({z: row[f"{z}_points_share"] for z in ZONES},
                                                   {z: row[f"opp_{z}_vs_league"] for z in ZONES}),
    }
    return {
        **{k: row[k] for k in ("game_date", "game_id", "player_id", "team_abbr", "opponent_abbr")},
        **{name: f.rounded(value) for name, value in factors.items()},
        "factors_available": sum(value is not None for value in factors.values()),
    }
