"""player_game_summary: each player's game on D — the box score with shooting efficiency,
usage (against the team's box score) and per-36 rates."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase3.base import AnalyticsProcessor
from shared.pipeline.phase3.tables import PLAYER_GAME_SUMMARY
from shared.pipeline.processor import ProcessorContext

COUNTING_STATS = ("points", "rebounds", "assists", "steals", "blocks", "turnovers",
                  "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")

SQL = """
SELECT p.game_date, COALESCE(p.game_id, s.game_id) AS game_id, p.player_id, p.player_name,
       p.team_abbr, p.opponent_abbr, p.is_home, p.won, p.minutes,
       p.points, p.rebounds, p.assists, p.steals, p.blocks, p.turnovers,
       p.fgm, p.fga, p.fg3m, p.fg3a, p.ftm, p.fta,
       t.fga AS team_fga, t.fta AS team_fta, t.tov AS team_tov, t.minutes AS team_minutes
FROM nba_raw.player_boxscores AS p
LEFT JOIN nba_raw.schedule AS s
  ON s.game_date = p.game_date AND (s.home_team_abbr = p.team_abbr OR s.away_team_abbr = p.team_abbr)
LEFT JOIN nba_raw.team_boxscores AS t
  ON t.game_date = p.game_date AND t.team_abbr = p.team_abbr
WHERE p.game_date = @d
"""


class PlayerGameSummary(AnalyticsProcessor):
    name = "player_game_summary"
    reads = (Input("raw_player_boxscores"), Input("raw_schedule"), Input("raw_team_boxscores"))
    output = PLAYER_GAME_SUMMARY
    sql = SQL
    key_fields = ("game_id", "team_abbr", "player_id")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return summarise_player_game(row)


def summarise_player_game(row: Mapping[str, Any]) -> dict[str, Any]:
    stats = {s: row[s] or 0 for s in COUNTING_STATS}
    minutes = row["minutes"] or 0.0
    usage = None
    if row["team_minutes"] is not None:
        usage = f.usage_rate(stats["fga"], stats["fta"], stats["turnovers"], minutes,
                             row["team_fga"], row["team_fta"], row["team_tov"], row["team_minutes"])
    return {
        **{k: row[k] for k in ("game_date", "game_id", "player_id", "player_name", "team_abbr",
                               "opponent_abbr", "is_home", "won")},
        "minutes": f.rounded(minutes, 2),
        **{s: row[s] for s in COUNTING_STATS},
        "fg2m": stats["fgm"] - stats["fg3m"],
        "fg2a": stats["fga"] - stats["fg3a"],
        "fg_pct": f.rounded(f.ratio(stats["fgm"], stats["fga"])),
        "fg3_pct": f.rounded(f.ratio(stats["fg3m"], stats["fg3a"])),
        "ft_pct": f.rounded(f.ratio(stats["ftm"], stats["fta"])),
        "ts_pct": f.rounded(f.true_shooting_pct(stats["points"], stats["fga"], stats["fta"])),
        "efg_pct": f.rounded(f.effective_fg_pct(stats["fgm"], stats["fg3m"], stats["fga"])),
        "usage_rate": f.rounded(usage, 2),
        "fg3a_rate": f.rounded(f.three_point_attempt_rate(stats["fg3a"], stats["fga"])),
        "ft_rate": f.rounded(f.free_throw_rate(stats["fta"], stats["fga"])),
        "points_per36": f.rounded(f.per_36(stats["points"], minutes), 2),
        "rebounds_per36": f.rounded(f.per_36(stats["rebounds"], minutes), 2),
        "assists_per36": f.rounded(f.per_36(stats["assists"], minutes), 2),
        "threes_per36": f.rounded(f.per_36(stats["fg3m"], minutes), 2),
    }
