"""ml_feature_store_v2: one fixed-order numeric feature vector per (player, game) on D — the
contract Phase 5 predicts points, rebounds, assists and threes from. Names, order and
meaning are in shared.pipeline.phase4.features; the vector is stored both as a JSON array
(`features`) and as one FLOAT64 column per feature."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.pipeline import formulas as f
from shared.pipeline.data_versions import Input
from shared.pipeline.phase4.base import PrecomputeProcessor
from shared.pipeline.phase4.features import FEATURE_NAMES, FEATURE_VERSION
from shared.pipeline.phase4.tables import ML_FEATURE_STORE_V2
from shared.pipeline.processor import ProcessorContext

# feature → SQL expression over u (upcoming_player_game_context), c (player_daily_cache),
# z (player_shot_zone_analysis), t (opponent's team_defense_zone_analysis), k (composite factors)
FEATURE_SQL: dict[str, str] = {
    **{name: f"c.{name}" for name in (
        "points_avg_last5", "points_avg_last10", "points_avg_season", "points_std_last10",
        "rebounds_avg_last10", "rebounds_avg_season", "assists_avg_last10", "assists_avg_season",
        "threes_avg_last10", "threes_avg_season", "minutes_avg_last10", "minutes_avg_season",
        "usage_rate_last10", "ts_pct_season")},
    "three_attempts_per36": "z.three_attempts_per36",
    "three_points_share": "z.three_points_share",
    "free_throw_points_share": "z.free_throw_points_share",
    "games_played_season": "u.games_played",
    "days_rest": "u.days_rest",
    "is_back_to_back": "CASE WHEN u.is_back_to_back THEN 1 ELSE 0 END",
    "is_home": "CASE WHEN u.is_home THEN 1 ELSE 0 END",
    "opponent_defensive_rating": "u.opponent_defensive_rating",
    "opponent_pace": "u.opponent_pace",
    "team_pace": "u.team_pace",
    "opponent_three_vs_league": "t.three_vs_league",
    **{name: f"k.{name}" for name in (
        "form_factor", "fatigue_factor", "pace_factor", "opponent_strength_factor", "matchup_zone_factor")},
    **{name: f"u.{name}" for name in ("points_line", "rebounds_line", "assists_line", "threes_line")},
}
assert tuple(FEATURE_SQL) == FEATURE_NAMES, "FEATURE_SQL must list every feature, in order"

SQL = f"""
SELECT u.game_date, u.game_id, u.player_id, u.player_name, u.team_abbr, u.opponent_abbr,
       u.games_played AS history_games,
       {", ".join(f"{expression} AS {name}" for name, expression in FEATURE_SQL.items())}
FROM nba_analytics.upcoming_player_game_context AS u
LEFT JOIN nba_precompute.player_daily_cache AS c ON c.game_date = u.game_date AND c.player_id = u.player_id
LEFT JOIN nba_precompute.player_shot_zone_analysis AS z ON z.game_date = u.game_date AND z.player_id = u.player_id
LEFT JOIN nba_precompute.team_defense_zone_analysis AS t
  ON t.game_date = u.game_date AND t.team_abbr = u.opponent_abbr
LEFT JOIN nba_precompute.player_composite_factors AS k
  ON k.game_date = u.game_date AND k.player_id = u.player_id AND k.game_id = u.game_id
WHERE u.game_date = @d
"""


class MlFeatureStoreV2(PrecomputeProcessor):
    name = "ml_feature_store_v2"
    reads = (Input("upcoming_player_game_context"), Input("player_daily_cache"), Input("player_shot_zone_analysis"),
             Input("team_defense_zone_analysis"), Input("player_composite_factors"))
    output = ML_FEATURE_STORE_V2
    sql = SQL
    key_fields = ("game_id", "team_abbr", "player_id")

    def output_row(self, ctx: ProcessorContext, row: Mapping[str, Any]) -> dict[str, Any]:
        return feature_row(row)


def feature_row(row: Mapping[str, Any]) -> dict[str, Any]:
    values = [f.rounded(row[name]) for name in FEATURE_NAMES]
    return {
        **{k: row[k] for k in ("game_date", "game_id", "player_id", "player_name", "team_abbr", "opponent_abbr",
                               "history_games")},
        "feature_version": FEATURE_VERSION,
        "feature_count": len(values),
        "features": values,
        "missing_features": sum(v is None for v in values),
        **dict(zip(FEATURE_NAMES, values)),
    }
