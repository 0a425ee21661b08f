"""The Phase 4 precompute tables (dataset nba_precompute), each partitioned on game_date = the
analysis date D: features for D's games, built only from history before D (plus Phase 3's
upcoming contexts for D, which are pre-game themselves). Every player table has one row per
player expected on D (phase3.history.EXPECTED_PLAYERS_CTES, the roster Phase 3 uses too);
a player without history keeps his row, with history features NULL.

Shot "zones" come from the box-score mix, which has no shot locations: three (3PA/3PM),
two (2PA/2PM inside the arc) and free_throw (FTA/FTM)."""
from __future__ import annotations

from shared.pipeline.phase4.features import FEATURES
from shared.pipeline.schema import game_date_table
from shared.ports.warehouse import FieldSpec, TableSpec
from shared.ports.warehouse import nullable as _opt
from shared.ports.warehouse import required as _req

DATASET = "nba_precompute"
ZONES = ("three", "two", "free_throw")
TEAM_DEFENSE_WINDOW = 15
PLAYER_ZONE_WINDOW = 10


def _table(name: str, description: str, *fields: FieldSpec, clustering: tuple[str, ...] = ()) -> TableSpec:
    return game_date_table(DATASET, name, description, *fields, clustering=clustering)


_GAME_DATE = _req("game_date", "DATE", "the analysis date D (features for D's games)")
_PLAYER_ON_D = (
    _GAME_DATE,
    _req("player_id", "INT64", "NBA person id"),
    _req("player_name", "STRING", "registry name (latest box-score spelling for a history roster)"),
    _req("team_abbr", "STRING", "his team on D: the registry's, or for a team the registry lists nobody for, "
                                "the team of his latest game before D"),
    _req("game_id", "STRING", "that team's game on D"),
)

TEAM_DEFENSE_ZONE_ANALYSIS = _table(
    "team_defense_zone_analysis",
    f"one row per team playing on D: what its defense allowed by zone over its last {TEAM_DEFENSE_WINDOW} "
    "games before D, against the league this season before D",
    _GAME_DATE,
    _req("game_id", "STRING", "the team's game on D"),
    _req("team_abbr", "STRING", "the defending team"),
    _req("opponent_abbr", "STRING", "the team it faces on D"),
    _req("games_in_sample", "INT64", f"games used (≤ {TEAM_DEFENSE_WINDOW}); 0 without history"),
    _opt("defensive_rating", "FLOAT64", "points allowed per 100 possessions over the sample"),
    *(field for zone in ZONES for field in (
        _opt(f"{zone}_attempts_per100", "FLOAT64", f"opponent {zone} attempts per 100 possessions"),
        _opt(f"{zone}_pct_allowed", "FLOAT64", f"opponent {zone} make percentage"),
        _opt(f"{zone}_points_per100", "FLOAT64", f"opponent {zone} points per 100 possessions"),
        _opt(f"{zone}_vs_league", "FLOAT64", f"{zone} points per 100 allowed relative to the league "
                                             "(0.05 = 5% more than the league average)"),
    )),
    _opt("weakest_zone", "STRING", "the zone where it allows most relative to the league"),
    _opt("strongest_zone", "STRING", "the zone where it allows least relative to the league"),
    clustering=("team_abbr",),
)

PLAYER_SHOT_ZONE_ANALYSIS = _table(
    "player_shot_zone_analysis",
    f"one row per player expected on D: where he scores from, over his last {PLAYER_ZONE_WINDOW} "
    "games before D (NULL without games)",
    *_PLAYER_ON_D,
    _req("games_in_sample", "INT64", f"games used (≤ {PLAYER_ZONE_WINDOW}); 0 without history"),
    _opt("minutes", "FLOAT64", "minutes over the sample"),
    *(field for zone in ZONES for field in (
        _opt(f"{zone}_attempts_per36", "FLOAT64", f"{zone} attempts per 36 minutes"),
        _opt(f"{zone}_pct", "FLOAT64", f"{zone} make percentage"),
        _opt(f"{zone}_points_share", "FLOAT64", f"share of his points from {zone}"),
    )),
    _opt("fg3a_rate", "FLOAT64", "3PA / FGA"),
    _opt("ft_rate", "FLOAT64", "FTA / FGA"),
    _opt("primary_zone", "STRING", "the zone most of his points come from"),
    clustering=("team_abbr", "player_id"),
)

_WINDOWS = ("last5", "last10", "season")
PLAYER_DAILY_CACHE = _table(
    "player_daily_cache",
    "one row per player expected on D: his rolling averages (last 5, last 10, season before D), "
    "spread, usage and efficiency — the statistical cache the features read (NULL without games)",
    *_PLAYER_ON_D,
    _req("games_played", "INT64", "games this season before D; 0 without history"),
    _opt("last_game_date", "DATE", "his previous game"),
    _opt("days_since_last_game", "INT64", "D − last_game_date in days"),
    *(_opt(f"{stat}_avg_{window}", "FLOAT64", f"{stat} per game, {window.replace('last', 'last ')} games")
      for stat in ("points", "rebounds", "assists", "threes", "minutes") for window in _WINDOWS),
    _opt("points_std_last10", "FLOAT64", "sample standard deviation of points, last 10 games"),
    _opt("minutes_std_last10", "FLOAT64", "sample standard deviation of minutes, last 10 games"),
    _opt("usage_rate_last10", "FLOAT64", "mean usage rate, last 10 games"),
    _opt("usage_rate_season", "FLOAT64", "mean usage rate this season"),
    _opt("ts_pct_season", "FLOAT64", "true shooting from season totals"),
    _opt("points_per36_season", "FLOAT64", "season points per 36 minutes (totals)"),
    _opt("rebounds_per36_season", "FLOAT64", "season rebounds per 36 minutes (totals)"),
    _opt("assists_per36_season", "FLOAT64", "season assists per 36 minutes (totals)"),
    clustering=("team_abbr", "player_id"),
)

PLAYER_COMPOSITE_FACTORS = _table(
    "player_composite_factors",
    "one row per expected player on D (upcoming_player_game_context): adjustment factors combining "
    "his form, rest, the game's pace and the opponent's defense — each documented in "
    "shared.pipeline.phase4.player_composite_factors",
    _GAME_DATE,
    _req("game_id", "STRING", "his game on D"),
    _req("player_id", "INT64", "NBA person id"),
    _req("team_abbr", "STRING", "his team on D"),
    _req("opponent_abbr", "STRING", "the opponent"),
    _opt("form_factor", "FLOAT64", "(points last 5 − season) / std of points last 10, clamped to ±3"),
    _opt("minutes_trend", "FLOAT64", "minutes last 5 − season minutes per game"),
    _opt("usage_trend", "FLOAT64", "usage rate last 10 − season usage rate"),
    _opt("fatigue_factor", "FLOAT64", "1 = fresh … 0 = exhausted: back-to-back, games in 7 days, heavy minutes"),
    _opt("pace_factor", "FLOAT64", "expected game pace (mean of both teams) / league pace − 1"),
    _opt("opponent_strength_factor", "FLOAT64", "opponent defensive rating / league rating − 1 "
                                                "(positive: softer defense than average)"),
    _opt("matchup_zone_factor", "FLOAT64", "Σ over zones of his points share × the opponent's "
                                           "allowed-vs-league in that zone (positive: favourable)"),
    _req("factors_available", "INT64", "how many of the factors above are not NULL"),
    clustering=("team_abbr", "player_id"),
)

ML_FEATURE_STORE_V2 = _table(
    "ml_feature_store_v2",
    "one row per (player, game) on D: the fixed-order numeric feature vector Phase 5 predicts from "
    "(see shared.pipeline.phase4.features for names, order and meaning)",
    _GAME_DATE,
    _req("game_id", "STRING", "his game on D"),
    _req("player_id", "INT64", "NBA person id"),
    _req("player_name", "STRING", "registry name"),
    _req("team_abbr", "STRING", "his team on D"),
    _req("opponent_abbr", "STRING", "the opponent"),
    _req("feature_version", "STRING", "version of the feature list; bumped when names, order or meaning change"),
    _req("feature_count", "INT64", "length of the vector"),
    _req("features", "JSON", "the vector: a JSON array of numbers (null when unknown) in FEATURES order"),
    _req("missing_features", "INT64", "how many entries are null"),
    _req("history_games", "INT64", "his games this season before D (0: a first game, history features null)"),
    *(_opt(feature.name, "FLOAT64", feature.description) for feature in FEATURES),
    clustering=("team_abbr", "player_id"),
)

TABLES: tuple[TableSpec, ...] = (TEAM_DEFENSE_ZONE_ANALYSIS, PLAYER_SHOT_ZONE_ANALYSIS, PLAYER_DAILY_CACHE,
                                 PLAYER_COMPOSITE_FACTORS, ML_FEATURE_STORE_V2)
