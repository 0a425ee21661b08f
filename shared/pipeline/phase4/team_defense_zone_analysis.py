"""team_defense_zone_analysis: for each team playing on D, what its defense allowed by zone
(three, two, free throw) over its last 15 games before D, relative to the league's average
this season before D."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3.history import SCHEDULED_TEAMS_CTE
from shared.pipeline.phase4.base import PrecomputeProcessor
from shared.pipeline.phase4.tables import (
    TEAM_DEFENSE_WINDOW,
    TEAM_DEFENSE_ZONE_ANALYSIS,
    ZONES,
)
from shared.pipeline.processor import ProcessorContext

_SUMS = ("possessions", "points_allowed", "opp_fgm", "opp_fga", "opp_fg3m", "opp_fg3a", "opp_ftm", "opp_fta")

SQL = f"""
WITH {SCHEDULED_TEAMS_CTE},
defense AS (
  SELECT team_abbr, {", ".join(_SUMS)},
         ROW_NUMBER() OVER (PARTITION BY team_abbr ORDER BY game_date DESC, game_id DESC) AS recency
  FROM nba_analytics.team_defense_game_summary
  WHERE game_date < @d AND game_date >= @season_start AND opp_fga IS NOT NULL
),
recent AS (
  SELECT team_abbr, COUNT(*) AS games, {", ".join(f"SUM({s}) AS {s}" for s in _SUMS)}
  FROM defense WHERE recency <= {TEAM_DEFENSE_WINDOW}
  GROUP BY team_abbr
),
league AS (
  SELECT {", ".join(f"SUM({s}) AS league_{s}" for s in _SUMS)} FROM defense
)
SELECT g.game_date, g.game_id, g.team_abbr, g.opponent_abbr, r.games,
       {", ".join(f"r.{s}" for s in _SUMS)}, {", ".join(f"l.league_{s}" for s in _SUMS)}
FROM scheduled AS g
LEFT JOIN recent AS r ON r.team_abbr = g.team_abbr
CROSS JOIN league AS l
"""


class TeamDefenseZoneAnalysis(PrecomputeProcessor):
    name = "team_defense_zone_analysis"
    reads = (Input("raw_schedule"), Input("team_defense_game_summary", "before"))
    output = TEAM_DEFENSE_ZONE_ANALYSIS
    sql = SQL
    key_fields = ("game_id", "team_abbr")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return defense_by_zone(row)


def zone_totals(row: Mapping[str, Any], prefix: str = "") -> dict[str, tuple[Any, Any, Any]]:
    """zone → (made, attempted, points) from opponent shooting sums (None when absent)."""
    fgm, fga = row[f"{prefix}opp_fgm"], row[f"{prefix}opp_fga"]
    fg3m, fg3a = row[f"{prefix}opp_fg3m"], row[f"{prefix}opp_fg3a"]
    ftm, fta = row[f"{prefix}opp_ftm"], row[f"{prefix}opp_fta"]
    if fga is None:
        return {zone: (None, None, None) for zone in ZONES}
    points = f.shot_zone_points(fgm, fg3m, ftm)
    return {"three": (fg3m, fg3a, points["three"]), "two": (fgm - fg3m, fga - fg3a, points["two"]),
            "free_throw": (ftm, fta, points["free_throw"])}


def defense_by_zone(row: Mapping[str, Any]) -> dict[str, Any]:
    team, league = zone_totals(row), zone_totals(row, "league_")
    poss, league_poss = row["possessions"], row["league_possessions"]
    out: dict[str, Any] = {k: row[k] for k in ("game_date", "game_id", "team_abbr", "opponent_abbr")}
    out["games_in_sample"] = row["games"] or 0
    out["defensive_rating"] = f.rounded(f.defensive_rating(row["points_allowed"], poss) if poss else None, 2)
    versus: dict[str, float] = {}
    for zone in ZONES:
        made, attempted, points = team[zone]
        per100 = f.ratio(100 * points, poss) if points is not None else None
        league_per100 = f.ratio(100 * league[zone][2], league_poss) if league[zone][2] is not None else None
        relative = None if per100 is None or not league_per100 else per100 / league_per100 - 1
        out[f"{zone}_attempts_per100"] = f.rounded(f.ratio(100 * attempted, poss) if attempted is not None else None, 2)
        out[f"{zone}_pct_allowed"] = f.rounded(f.ratio(made, attempted) if attempted is not None else None)
        out[f"{zone}_points_per100"] = f.rounded(per100, 2)
        out[f"{zone}_vs_league"] = f.rounded(relative)
        if out[f"{zone}_vs_league"] is not None:
            versus[zone] = out[f"{zone}_vs_league"]
    out["weakest_zone"] = max(versus, key=lambda z: (versus[z], z)) if versus else None
    out["strongest_zone"] = min(versus, key=lambda z: (versus[z], z)) if versus else None
    return out
