"""upcoming_team_game_context: each team playing on D as seen before tip-off — rest,
back-to-back, home/away, season record and ratings, recent form and the opponent's strength,
all from team games strictly before D."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3.base import AnalyticsProcessor
from shared.pipeline.phase3.history import (
    SCHEDULED_TEAMS_CTE,
    TEAM_SEASON_CTE,
    days_since,
    team_ratings,
    team_season_select,
)
from shared.pipeline.phase3.tables import UPCOMING_TEAM_GAME_CONTEXT
from shared.pipeline.processor import ProcessorContext

SQL = f"""
WITH {SCHEDULED_TEAMS_CTE},
{TEAM_SEASON_CTE}
SELECT g.game_date, g.game_id, g.team_id, g.team_abbr, g.opponent_abbr, g.is_home, g.start_time_utc,
       g.season_type, {team_season_select("ts", "team_")}, {team_season_select("os", "opp_")}
FROM scheduled AS g
LEFT JOIN team_season AS ts ON ts.team_abbr = g.team_abbr
LEFT JOIN team_season AS os ON os.team_abbr = g.opponent_abbr
"""


class UpcomingTeamGameContext(AnalyticsProcessor):
    name = "upcoming_team_game_context"
    reads = (Input("raw_schedule"), Input("team_offense_game_summary", "before"))
    output = UPCOMING_TEAM_GAME_CONTEXT
    sql = SQL
    key_fields = ("game_id", "team_abbr")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return team_context(row)


def team_context(row: Mapping[str, Any]) -> dict[str, Any]:
    day = row["game_date"]
    team, opponent = team_ratings(row, "team_"), team_ratings(row, "opp_")
    rest = days_since(day, row["team_last_game_date"])
    opponent_rest = days_since(day, row["opp_last_game_date"])
    last10 = row["team_games_last10"] or 0
    return {
        **{k: row[k] for k in ("game_date", "game_id", "team_id", "team_abbr", "opponent_abbr", "is_home",
                               "start_time_utc", "season_type")},
        "games_played": row["team_games"] or 0,
        "last_game_date": row["team_last_game_date"],
        "days_rest": rest,
        "is_back_to_back": rest == 1,
        "games_last_7_days": row["team_games_last_7_days"] or 0,
        **team,
        "win_pct_last10": f.rounded(f.win_pct(row["team_wins_last10"], last10)),
        "avg_margin_last10": f.rounded(f.ratio(row["team_margin_last10"], last10), 2),
        "opponent_days_rest": opponent_rest,
        "rest_advantage": None if rest is None or opponent_rest is None else rest - opponent_rest,
        **{f"opponent_{k}": v for k, v in opponent.items()},
    }
