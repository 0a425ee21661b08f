"""team_defense_game_summary: each team's defense in its game on D — defensive rating and
what its opponent managed against it (efficiency, forced turnovers, allowed shot profile)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3 import team_games
from shared.pipeline.phase3.base import AnalyticsProcessor
from shared.pipeline.phase3.tables import TEAM_DEFENSE_GAME_SUMMARY
from shared.pipeline.processor import ProcessorContext

_OPPONENT_STATS = ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "tov")


class TeamDefenseGameSummary(AnalyticsProcessor):
    name = "team_defense_game_summary"
    reads = (Input("raw_team_boxscores"),)
    output = TEAM_DEFENSE_GAME_SUMMARY
    sql = team_games.SQL
    key_fields = team_games.KEY_FIELDS

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return summarise_defense(row)


def summarise_defense(row: Mapping[str, Any]) -> dict[str, Any]:
    identity = team_games.game_identity(row)
    opp = {s: row[f"opp_{s}"] for s in _OPPONENT_STATS}
    has_opponent = row["opp_fga"] is not None
    shares = team_games.points_shares(opp["fgm"], opp["fg3m"], opp["ftm"])
    return {
        **identity,
        "points_allowed": row["opp_points"],
        **{f"opp_{s}": v for s, v in opp.items()},
        "dreb": row["dreb"],
        "steals": row["stl"],
        "blocks": row["blk"],
        "defensive_rating": f.rounded(f.defensive_rating(row["opp_points"], identity["possessions"])
                                      if has_opponent else None, 2),
        "opp_efg_pct": f.rounded(f.effective_fg_pct(opp["fgm"], opp["fg3m"], opp["fga"]) if has_opponent else None),
        "opp_tov_pct": f.rounded(f.turnover_pct(opp["tov"], opp["fga"], opp["fta"]) if has_opponent else None),
        "dreb_pct": f.rounded(f.ratio(row["dreb"], row["dreb"] + opp["oreb"]) if has_opponent else None),
        "opp_ft_rate": f.rounded(f.free_throw_rate(opp["fta"], opp["fga"]) if has_opponent else None),
        "opp_fg3a_rate": f.rounded(f.three_point_attempt_rate(opp["fg3a"], opp["fga"]) if has_opponent else None),
        "opp_three_point_share": shares["three"],
        "opp_two_point_share": shares["two"],
        "opp_free_throw_share": shares["free_throw"],
    }
