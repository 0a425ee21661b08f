"""upcoming_player_game_context: each player expected to play on D, as seen before tip-off.

Expected players (history.EXPECTED_PLAYERS_CTES, shared with Phase 4): the active players of
the latest registry partition ≤ D whose team plays on D; for a team playing on D that the
registry lists nobody for, the players whose latest game this season (before D) was for that
team; never a player D's injury report lists "out". Rest, recent form and the opponent come
from games strictly before D; the prop lines are the ones offered on D (pre-game by nature)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3.base import AnalyticsProcessor
from shared.pipeline.phase3.history import (
    EXPECTED_PLAYERS_CTES,
    EXPECTED_PLAYERS_READS,
    TEAM_SEASON_CTE,
    days_since,
    team_ratings,
    team_season_select,
)
from shared.pipeline.phase3.tables import UPCOMING_PLAYER_GAME_CONTEXT
from shared.pipeline.processor import ProcessorContext

PROP_MARKETS = {"points_line": "player_points", "rebounds_line": "player_rebounds",
                "assists_line": "player_assists", "threes_line": "player_threes"}

SQL = f"""
WITH {EXPECTED_PLAYERS_CTES},
{TEAM_SEASON_CTE},
player_history AS (
  SELECT player_id, game_date, minutes, points,
         ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.player_game_summary
  WHERE game_date < @d AND game_date >= @season_start
),
player_form AS (
  SELECT player_id,
         COUNT(*) AS games,
         MAX(game_date) AS last_game_date,
         SUM(CASE WHEN game_date >= DATE_SUB(@d, INTERVAL 7 DAY) THEN 1 ELSE 0 END) AS games_last_7_days,
         AVG(CASE WHEN recency <= 5 THEN minutes END) AS minutes_avg_last5,
         AVG(CASE WHEN recency <= 5 THEN points END) AS points_avg_last5,
         AVG(points) AS points_avg_season
  FROM player_history
  GROUP BY player_id
),
props AS (
  SELECT player_id,
         AVG(CASE WHEN market = 'player_points' THEN line END) AS points_line,
         AVG(CASE WHEN market = 'player_rebounds' THEN line END) AS rebounds_line,
         AVG(CASE WHEN market = 'player_assists' THEN line END) AS assists_line,
         AVG(CASE WHEN market = 'player_threes' THEN line END) AS threes_line,
         COUNT(DISTINCT bookmaker) AS prop_bookmakers
  FROM nba_raw.prop_lines
  WHERE game_date = @d AND player_id IS NOT NULL
  GROUP BY player_id
)
SELECT g.game_date, g.game_id, e.player_id, e.player_name, e.team_abbr, g.opponent_abbr, g.is_home,
       g.start_time_utc, e.roster_source,
       pf.games, pf.last_game_date, pf.games_last_7_days, pf.minutes_avg_last5, pf.points_avg_last5,
       pf.points_avg_season,
       {team_season_select("ts", "team_")}, {team_season_select("os", "opp_")},
       pr.points_line, pr.rebounds_line, pr.assists_line, pr.threes_line, pr.prop_bookmakers
FROM expected AS e
JOIN scheduled AS g ON g.game_id = e.game_id AND g.team_abbr = e.team_abbr
LEFT JOIN player_form AS pf ON pf.player_id = e.player_id
LEFT JOIN team_season AS ts ON ts.team_abbr = g.team_abbr
LEFT JOIN team_season AS os ON os.team_abbr = g.opponent_abbr
LEFT JOIN props AS pr ON pr.player_id = e.player_id
"""


class UpcomingPlayerGameContext(AnalyticsProcessor):
    name = "upcoming_player_game_context"
    reads = (*EXPECTED_PLAYERS_READS, Input("raw_prop_lines"), Input("team_offense_game_summary", "before"))
    output = UPCOMING_PLAYER_GAME_CONTEXT
    sql = SQL
    key_fields = ("game_id", "team_abbr", "player_id")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return player_context(row)


def player_context(row: Mapping[str, Any]) -> dict[str, Any]:
    rest = days_since(row["game_date"], row["last_game_date"])
    team, opponent = team_ratings(row, "team_"), team_ratings(row, "opp_")
    return {
        **{k: row[k] for k in ("game_date", "game_id", "player_id", "player_name", "team_abbr", "opponent_abbr",
                               "is_home", "start_time_utc", "roster_source", "last_game_date")},
        "games_played": row["games"] or 0,
        "days_rest": rest,
        "is_back_to_back": rest == 1,
        "games_last_7_days": row["games_last_7_days"] or 0,
        "minutes_avg_last5": f.rounded(row["minutes_avg_last5"], 2),
        "points_avg_last5": f.rounded(row["points_avg_last5"], 2),
        "points_avg_season": f.rounded(row["points_avg_season"], 2),
        "team_pace": team["pace"],
        "opponent_pace": opponent["pace"],
        "opponent_defensive_rating": opponent["defensive_rating"],
        "opponent_win_pct": opponent["win_pct"],
        **{column: f.rounded(row[column], 2) for column in PROP_MARKETS},
        "prop_bookmakers": row["prop_bookmakers"] or 0,
    }
