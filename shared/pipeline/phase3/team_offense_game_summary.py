"""team_offense_game_summary: each team's offense in its game on D — pace, offensive rating,
Oliver's four factors and the shot profile (where its points came from)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3 import team_games
from shared.pipeline.phase3.base import AnalyticsProcessor
from shared.pipeline.phase3.tables import TEAM_OFFENSE_GAME_SUMMARY
from shared.pipeline.processor import ProcessorContext


class TeamOffenseGameSummary(AnalyticsProcessor):
    name = "team_offense_game_summary"
    reads = (Input("raw_team_boxscores"),)
    output = TEAM_OFFENSE_GAME_SUMMARY
    sql = team_games.SQL
    key_fields = team_games.KEY_FIELDS

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return summarise_offense(row)


def summarise_offense(row: Mapping[str, Any]) -> dict[str, Any]:
    identity = team_games.game_identity(row)
    shares = team_games.points_shares(row["fgm"], row["fg3m"], row["ftm"])
    opp_dreb = row["opp_dreb"]
    return {
        **identity,
        "points": row["points"],
        "opponent_points": row["opp_points"],
        **{k: row[k] for k in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "tov")},
        "ast": row["ast"],
        "offensive_rating": f.rounded(f.offensive_rating(row["points"], identity["possessions"]), 2),
        "ts_pct": f.rounded(f.true_shooting_pct(row["points"], row["fga"], row["fta"])),
        "efg_pct": f.rounded(f.effective_fg_pct(row["fgm"], row["fg3m"], row["fga"])),
        "tov_pct": f.rounded(f.turnover_pct(row["tov"], row["fga"], row["fta"])),
        "oreb_pct": f.rounded(None if opp_dreb is None else f.offensive_rebound_pct(row["oreb"], opp_dreb)),
        "ft_rate": f.rounded(f.free_throw_rate(row["fta"], row["fga"])),
        "fg3a_rate": f.rounded(f.three_point_attempt_rate(row["fg3a"], row["fga"])),
        "three_point_share": shares["three"],
        "two_point_share": shares["two"],
        "free_throw_share": shares["free_throw"],
        "assist_rate": f.rounded(f.ratio(row["ast"], row["fgm"])),
    }
