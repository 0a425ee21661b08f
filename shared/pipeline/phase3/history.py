"""SQL fragments of the upcoming contexts: D's scheduled teams, the players expected on D,
and each team's record this season strictly before D (no look-ahead: only partitions
game_date < @d of the analytics tables are read)."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input

# One row per team playing on D.
SCHEDULED_TEAMS_CTE = """
scheduled AS (
  SELECT game_date, game_id, start_time_utc, season_type, home_team_id AS team_id,
         home_team_abbr AS team_abbr, away_team_abbr AS opponent_abbr, TRUE AS is_home
  FROM nba_raw.schedule WHERE game_date = @d
  UNION ALL
  SELECT game_date, game_id, start_time_utc, season_type, away_team_id AS team_id,
         away_team_abbr AS team_abbr, home_team_abbr AS opponent_abbr, FALSE AS is_home
  FROM nba_raw.schedule WHERE game_date = @d
)"""

# The players expected on D, shared by Phase 3 (upcoming_player_game_context) and Phase 4 so
# both agree on who plays: the active players of the latest registry partition ≤ D whose team
# plays on D ('registry'); for a team playing on D the registry lists nobody for, the players
# whose latest game this season before D was for that team ('history'); in both cases without
# the players D's injury report (published before tip-off) lists "out". Reads only raw tables
# and history before D. Produces expected(player_id, player_name, team_abbr, roster_source,
# game_id): one row per player, game_id being his team's game on D.
EXPECTED_PLAYERS_CTES = f"""{SCHEDULED_TEAMS_CTE},
registry_roster AS (
  SELECT person_id AS player_id, full_name AS player_name, team_abbr
  FROM nba_raw.player_registry
  WHERE as_of_date = (SELECT MAX(as_of_date) FROM nba_raw.player_registry WHERE as_of_date <= @d)
    AND is_active AND team_abbr IS NOT NULL
),
latest_game_before_d AS (
  SELECT player_id, player_name, team_abbr,
         ROW_NUMBER() OVER (PARTITION BY player_id ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.player_game_summary
  WHERE game_date < @d AND game_date >= @season_start
),
history_roster AS (
  SELECT h.player_id, h.player_name, h.team_abbr
  FROM latest_game_before_d AS h
  WHERE h.recency = 1
    AND NOT EXISTS (SELECT 1 FROM registry_roster AS r WHERE r.team_abbr = h.team_abbr)
    AND NOT EXISTS (SELECT 1 FROM registry_roster AS r WHERE r.player_id = h.player_id)
),
expected AS (
  SELECT r.player_id, r.player_name, r.team_abbr, r.roster_source, g.game_id
  FROM (
    SELECT player_id, player_name, team_abbr, 'registry' AS roster_source FROM registry_roster
    UNION ALL
    SELECT player_id, player_name, team_abbr, 'history' AS roster_source FROM history_roster
  ) AS r
  JOIN scheduled AS g ON g.team_abbr = r.team_abbr
  WHERE NOT EXISTS (SELECT 1 FROM nba_raw.injury_report AS i
                    WHERE i.game_date = @d AND i.player_id = r.player_id AND i.status = 'out')
)"""

# What EXPECTED_PLAYERS_CTES reads, for the processors' provenance.
EXPECTED_PLAYERS_READS = (Input("raw_schedule"), Input("raw_player_registry", "through"),
                          Input("player_game_summary", "before"), Input("raw_injury_report"))

# Each team's season before D: sums to turn into ratings, recency for rest and form.
TEAM_SEASON_CTE = """
team_history AS (
  SELECT team_abbr, game_date, won, points, opponent_points, possessions, team_minutes,
         ROW_NUMBER() OVER (PARTITION BY team_abbr ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.team_offense_game_summary
  WHERE game_date < @d AND game_date >= @season_start
),
team_season AS (
  SELECT team_abbr,
         COUNT(*) AS games,
         SUM(CASE WHEN won THEN 1 ELSE 0 END) AS wins,
         SUM(points) AS points,
         SUM(opponent_points) AS points_allowed,
         SUM(possessions) AS possessions,
         SUM(team_minutes) AS team_minutes,
         MAX(game_date) AS last_game_date,
         SUM(CASE WHEN game_date >= DATE_SUB(@d, INTERVAL 7 DAY) THEN 1 ELSE 0 END) AS games_last_7_days,
         SUM(CASE WHEN recency <= 10 THEN 1 ELSE 0 END) AS games_last10,
         SUM(CASE WHEN recency <= 10 AND won THEN 1 ELSE 0 END) AS wins_last10,
         SUM(CASE WHEN recency <= 10 THEN points - opponent_points ELSE 0 END) AS margin_last10
  FROM team_history
  GROUP BY team_abbr
)"""

TEAM_SEASON_COLUMNS = ("games", "wins", "points", "points_allowed", "possessions", "team_minutes",
                       "last_game_date", "games_last_7_days", "games_last10", "wins_last10", "margin_last10")


def team_season_select(alias: str, prefix: str) -> str:
    return ", ".join(f"{alias}.{c} AS {prefix}{c}" for c in TEAM_SEASON_COLUMNS)


def team_ratings(row: Mapping[str, Any], prefix: str) -> dict[str, float | None]:
    """Season-to-date ratings from the sums selected with `prefix` (all None without games)."""
    poss = row[f"{prefix}possessions"]
    games = row[f"{prefix}games"] or 0
    offense = f.offensive_rating(row[f"{prefix}points"], poss) if games else None
    defense = f.defensive_rating(row[f"{prefix}points_allowed"], poss) if games else None
    return {
        "win_pct": f.rounded(f.win_pct(row[f"{prefix}wins"], games)),
        "offensive_rating": f.rounded(offense, 2),
        "defensive_rating": f.rounded(defense, 2),
        "net_rating": f.rounded(None if offense is None or defense is None else offense - defense, 2),
        "pace": f.rounded(f.pace(poss, row[f"{prefix}team_minutes"]) if games and row[f"{prefix}team_minutes"]
                          else None, 2),
    }


def days_since(day: date, previous: date | None) -> int | None:
    return None if previous is None else (day - previous).days
