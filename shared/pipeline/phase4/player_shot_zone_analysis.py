"""player_shot_zone_analysis: for each player expected on D, where his points come from (three,
two, free throw) over his last 10 games before D. A player without games before D still gets
his row: games_in_sample 0, the rest NULL."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.phase3.history import EXPECTED_PLAYERS_READS
from shared.pipeline.phase4.base import PLAYERS_ON_D_CTES, PrecomputeProcessor
from shared.pipeline.phase4.tables import (
    PLAYER_SHOT_ZONE_ANALYSIS,
    PLAYER_ZONE_WINDOW,
    ZONES,
)
from shared.pipeline.processor import ProcessorContext

_SUMS = ("minutes", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")
# the columns computed from the sample: all NULL without one
_MIX_FIELDS = tuple(field.name for field in PLAYER_SHOT_ZONE_ANALYSIS.fields
                    if field.name not in {"game_date", "player_id", "player_name", "team_abbr", "game_id",
                                          "games_in_sample"})

SQL = f"""
WITH {PLAYERS_ON_D_CTES},
recent AS (
  SELECT player_id, COUNT(*) AS games, {", ".join(f"SUM({s}) AS {s}" for s in _SUMS)}
  FROM player_history WHERE recency <= {PLAYER_ZONE_WINDOW}
  GROUP BY player_id
)
SELECT e.player_id, e.player_name, e.team_abbr, e.game_id, COALESCE(r.games, 0) AS games,
       {", ".join(f"r.{s}" for s in _SUMS)}
FROM expected AS e
LEFT JOIN recent AS r ON r.player_id = e.player_id
"""


class PlayerShotZoneAnalysis(PrecomputeProcessor):
    name = "player_shot_zone_analysis"
    reads = EXPECTED_PLAYERS_READS
    output = PLAYER_SHOT_ZONE_ANALYSIS
    sql = SQL
    key_fields = ("player_id",)

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return shot_zones({**row, "game_date": ctx.analysis_date})


def shot_zones(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: row[k] for k in ("game_date", "player_id", "player_name", "team_abbr", "game_id")}
    out["games_in_sample"] = row["games"]
    return {**out, **(_zone_mix(row) if row["games"] else dict.fromkeys(_MIX_FIELDS))}


def _zone_mix(row: Mapping[str, Any]) -> dict[str, Any]:
    fgm, fga, fg3m, fg3a, ftm, fta = (row[s] or 0 for s in ("fgm", "fga", "fg3m", "fg3a", "ftm", "fta"))
    minutes = row["minutes"] or 0.0
    points = f.shot_zone_points(fgm, fg3m, ftm)
    total = sum(points.values())
    made_attempted = {"three": (fg3m, fg3a), "two": (fgm - fg3m, fga - fg3a), "free_throw": (ftm, fta)}
    out: dict[str, Any] = {"minutes": f.rounded(minutes, 2)}
    for zone in ZONES:
        made, attempted = made_attempted[zone]
        out[f"{zone}_attempts_per36"] = f.rounded(f.per_36(attempted, minutes), 2)
        out[f"{zone}_pct"] = f.rounded(f.ratio(made, attempted))
        out[f"{zone}_points_share"] = f.rounded(f.ratio(points[zone], total))
    out["fg3a_rate"] = f.rounded(f.three_point_attempt_rate(fg3a, fga))
    out["ft_rate"] = f.rounded(f.free_throw_rate(fta, fga))
    out["primary_zone"] = max(ZONES, key=lambda z: (points[z], z)) if total else None
    return out
