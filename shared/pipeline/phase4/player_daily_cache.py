"""player_daily_cache: for each player expected on D, his rolling averages over the last 5 and
10 games and the season before D, their spread, usage and efficiency. A player without games
before D (a debut, or a fresh warehouse) still gets his row: games_played 0, the rest NULL."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.phase3.history import EXPECTED_PLAYERS_READS
from shared.pipeline.phase4.base import PLAYERS_ON_D_CTES, PrecomputeProcessor
from shared.pipeline.phase4.tables import PLAYER_DAILY_CACHE
from shared.pipeline.processor import ProcessorContext

# output stat name → player_game_summary column
AVERAGED = {"points": "points", "rebounds": "rebounds", "assists": "assists", "threes": "fg3m",
            "minutes": "minutes"}
_WINDOWS = {"last5": "recency <= 5", "last10": "recency <= 10", "season": "TRUE"}


_STATS_COLUMNS = (
    "last_game_date",
    *(f"{stat}_avg_{window}" for stat in AVERAGED for window in _WINDOWS),
    "points_std_last10", "minutes_std_last10", "usage_rate_last10", "usage_rate_season",
    "season_points", "season_rebounds", "season_assists", "season_minutes", "season_fga", "season_fta",
)


def _averages() -> str:
    return ",\n         ".join(f"AVG(CASE WHEN {condition} THEN {column} END) AS {stat}_avg_{window}"
                               for stat, column in AVERAGED.items() for window, condition in _WINDOWS.items())


SQL = f"""
WITH {PLAYERS_ON_D_CTES},
stats AS (
  SELECT player_id,
         COUNT(*) AS games_played,
         MAX(game_date) AS last_game_date,
         {_averages()},
         STDDEV_SAMP(CASE WHEN recency <= 10 THEN points END) AS points_std_last10,
         STDDEV_SAMP(CASE WHEN recency <= 10 THEN minutes END) AS minutes_std_last10,
         AVG(CASE WHEN recency <= 10 THEN usage_rate END) AS usage_rate_last10,
         AVG(usage_rate) AS usage_rate_season,
         SUM(points) AS season_points, SUM(rebounds) AS season_rebounds, SUM(assists) AS season_assists,
         SUM(minutes) AS season_minutes, SUM(fga) AS season_fga, SUM(fta) AS season_fta
  FROM player_history
  GROUP BY player_id
)
SELECT e.player_id, e.player_name, e.team_abbr, e.game_id, COALESCE(s.games_played, 0) AS games_played,
       {", ".join(f"s.{c}" for c in _STATS_COLUMNS)}
FROM expected AS e
LEFT JOIN stats AS s ON s.player_id = e.player_id
"""


class PlayerDailyCache(PrecomputeProcessor):
    name = "player_daily_cache"
    reads = EXPECTED_PLAYERS_READS
    output = PLAYER_DAILY_CACHE
    sql = SQL
    key_fields = ("player_id",)

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return daily_cache(ctx.analysis_date, row)


def daily_cache(day: date, row: Mapping[str, Any]) -> dict[str, Any]:
    minutes = row["season_minutes"]
    out: dict[str, Any] = {"game_date": day,
                           **{k: row[k] for k in ("player_id", "player_name", "team_abbr", "game_id",
                                                  "games_played", "last_game_date")}}
    last_game = row["last_game_date"]
    out["days_since_last_game"] = None if last_game is None else (day - last_game).days
    for stat in AVERAGED:
        for window in _WINDOWS:
            out[f"{stat}_avg_{window}"] = f.rounded(row[f"{stat}_avg_{window}"], 2)
    for column in ("points_std_last10", "minutes_std_last10", "usage_rate_last10", "usage_rate_season"):
        out[column] = f.rounded(row[column], 2)
    has_totals = row["season_points"] is not None
    out["ts_pct_season"] = f.rounded(f.true_shooting_pct(row["season_points"], row["season_fga"], row["season_fta"])
                                     if has_totals else None)
    for stat in ("points", "rebounds", "assists"):
        out[f"{stat}_per36_season"] = f.rounded(f.per_36(row[f"season_{stat}"], minutes) if minutes else None, 2)
    return out
