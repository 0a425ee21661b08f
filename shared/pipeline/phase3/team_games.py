"""A team's box score on D beside its opponent's: the input of both team game summaries."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f

TEAM_BOX_STATS = ("minutes", "points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta",
                  "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf")

SQL = f"""
SELECT t.game_date, t.game_id, t.team_id, t.team_abbr, t.opponent_abbr, t.is_home, t.won,
       {", ".join(f"t.{s}" for s in TEAM_BOX_STATS)},
       {", ".join(f"o.{s} AS opp_{s}" for s in TEAM_BOX_STATS)}
FROM nba_raw.team_boxscores AS t
LEFT JOIN nba_raw.team_boxscores AS o
  ON o.game_date = t.game_date AND o.game_id = t.game_id AND o.team_abbr <> t.team_abbr
WHERE t.game_date = @d
"""

KEY_FIELDS = ("game_id", "team_abbr")


def game_identity(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields both team summaries start with: who played, possessions and pace."""
    game_poss = game_possessions(row)
    return {
        **{k: row[k] for k in ("game_date", "game_id", "team_id", "team_abbr", "opponent_abbr", "is_home", "won")},
        "team_minutes": row["minutes"],
        "possessions": f.rounded(game_poss, 2),
        "pace": f.rounded(f.pace(game_poss, row["minutes"]) if row["minutes"] else None, 2),
    }


def game_possessions(row: Mapping[str, Any]) -> float:
    """Both teams' estimates averaged; the team's own alone when the opponent's row is missing."""
    own = f.possessions(row["fga"], row["oreb"], row["tov"], row["fta"])
    if row["opp_fga"] is None:
        return own
    return f.game_possessions(own, f.possessions(row["opp_fga"], row["opp_oreb"], row["opp_tov"], row["opp_fta"]))


def points_shares(fgm: int | None, fg3m: int | None, ftm: int | None) -> dict[str, float | None]:
    """Share of points by box-score zone (three, two, free throw)."""
    if fgm is None or fg3m is None or ftm is None:
        return {"three": None, "two": None, "free_throw": None}
    zones = f.shot_zone_points(fgm, fg3m, ftm)
    total = sum(zones.values())
    return {zone: f.rounded(f.ratio(points, total)) for zone, points in zones.items()}
