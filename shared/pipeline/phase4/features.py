"""The ml_feature_store_v2 feature vector: names, order and meaning (the contract Phase 5 reads).

Every feature is a FLOAT64 known before tip-off on D. Booleans are 1.0/0.0. A feature with no
basis (a player's first game, a market with no line) is NULL — never imputed here, so a
model sees the difference between "zero" and "unknown"; `missing_features` counts them.
Changing a name, the order or a meaning bumps FEATURE_VERSION."""
from __future__ import annotations

from dataclasses import dataclass

FEATURE_VERSION = "v2.0"


@dataclass(frozen=True)
class Feature:
    name: str
    description: str


FEATURES: tuple[Feature, ...] = (
    Feature("points_avg_last5", "points per game, last 5 games before D"),
    Feature("points_avg_last10", "points per game, last 10 games before D"),
    Feature("points_avg_season", "points per game this season before D"),
    Feature("points_std_last10", "standard deviation of points, last 10 games"),
    Feature("rebounds_avg_last10", "rebounds per game, last 10 games"),
    Feature("rebounds_avg_season", "rebounds per game this season"),
    Feature("assists_avg_last10", "assists per game, last 10 games"),
    Feature("assists_avg_season", "assists per game this season"),
    Feature("threes_avg_last10", "threes made per game, last 10 games"),
    Feature("threes_avg_season", "threes made per game this season"),
    Feature("minutes_avg_last10", "minutes per game, last 10 games"),
    Feature("minutes_avg_season", "minutes per game this season"),
    Feature("usage_rate_last10", "mean usage rate (per 100 plays), last 10 games"),
    Feature("ts_pct_season", "true shooting percentage this season"),
    Feature("three_attempts_per36", "three-point attempts per 36 minutes, last 10 games"),
    Feature("three_points_share", "share of his points from threes, last 10 games"),
    Feature("free_throw_points_share", "share of his points from free throws, last 10 games"),
    Feature("games_played_season", "his games this season before D"),
    Feature("days_rest", "days since his previous game (NULL without one)"),
    Feature("is_back_to_back", "1.0 when he played yesterday"),
    Feature("is_home", "1.0 when his team plays at home"),
    Feature("opponent_defensive_rating", "opponent points allowed per 100 possessions this season"),
    Feature("opponent_pace", "opponent possessions per 48 minutes this season"),
    Feature("team_pace", "his team's possessions per 48 minutes this season"),
    Feature("opponent_three_vs_league", "opponent's three-point points allowed per 100 vs the league, last 15"),
    Feature("form_factor", "player_composite_factors.form_factor"),
    Feature("fatigue_factor", "player_composite_factors.fatigue_factor"),
    Feature("pace_factor", "player_composite_factors.pace_factor"),
    Feature("opponent_strength_factor", "player_composite_factors.opponent_strength_factor"),
    Feature("matchup_zone_factor", "player_composite_factors.matchup_zone_factor"),
    Feature("points_line", "mean points prop line on D across bookmakers"),
    Feature("rebounds_line", "mean rebounds prop line on D"),
    Feature("assists_line", "mean assists prop line on D"),
    Feature("threes_line", "mean threes prop line on D"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(feature.name for feature in FEATURES)


def feature_vector(row: dict) -> list[float | None]:
    """A stored ml_feature_store_v2 row's features, in FEATURES order."""
    return [row[name] for name in FEATURE_NAMES]
