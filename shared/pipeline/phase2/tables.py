"""The raw tables Phase 2 writes and Phase 3 reads (dataset nba_raw), one DATE partition per date.

Every row carries its provenance: `source` (synthetic, replay:<path>, ...) and the SHA-256 of
the stored payload it came from, so any raw row leads back to its evidence object.
"""
from __future__ import annotations

from shared.ports.warehouse import FieldSpec, TableSpec
from shared.ports.warehouse import nullable as _nullable
from shared.ports.warehouse import required as _required

DATASET = "nba_raw"
_PROVENANCE = (
    FieldSpec("source", "STRING", "REQUIRED", "where the payload came from: synthetic, replay:<path>, ..."),
    FieldSpec("payload_sha256", "STRING", "REQUIRED", "SHA-256 of the stored payload (its evidence object)"),
)


def _raw_table(name: str, partition: str, description: str, *fields: FieldSpec) -> TableSpec:
    return TableSpec(DATASET, name, fields + _PROVENANCE, partition_field=partition, description=description)


def _counts(*names: str) -> tuple[FieldSpec, ...]:
    return tuple(_required(name, "INT64") for name in names)


SCHEDULE = _raw_table(
    "schedule", "game_date", "the games on each date",
    _required("game_date", "DATE"),
    _required("game_id", "STRING"),
    _nullable("start_time_utc", "TIMESTAMP"),
    _required("home_team_id", "INT64"),
    _required("home_team_abbr", "STRING"),
    _required("away_team_id", "INT64"),
    _required("away_team_abbr", "STRING"),
    _required("season_type", "STRING", "regular | cup_final | playoffs | play_in | preseason | all_star"),
)

PLAYER_BOXSCORES = _raw_table(
    "player_boxscores", "game_date", "player box scores with resolved NBA person ids",
    _required("game_date", "DATE"),
    _required("game_id", "STRING", "from the schedule (or team box scores) by (date, team)"),
    _required("player_id", "INT64", "NBA person id, resolved from the provider's name"),
    _required("player_name", "STRING", "as the provider spelled it"),
    _required("team_abbr", "STRING"),
    _required("opponent_abbr", "STRING"),
    _required("is_home", "BOOL"),
    _required("won", "BOOL"),
    _required("minutes", "FLOAT64"),
    *_counts("points", "rebounds", "assists", "steals", "blocks", "turnovers",
             "fgm", "fga", "fg3m", "fg3a", "ftm", "fta"),
    _required("resolution_method", "STRING", "exact | normalised | alias | team | active"),
)

PLAYER_IDENTITY_REVIEW = _raw_table(
    "player_identity_review", "game_date",
    "box-score rows whose player could not be identified: quarantined, never guessed",
    _required("game_date", "DATE"),
    _required("player_name", "STRING"),
    _required("team_abbr", "STRING"),
    _required("reason", "STRING", "unknown | ambiguous"),
    _required("candidates", "STRING", "JSON list of the registry person ids considered"),
)

TEAM_BOXSCORES = _raw_table(
    "team_boxscores", "game_date", "team box scores, one row per team per game",
    _required("game_date", "DATE"),
    _required("game_id", "STRING"),
    _required("team_id", "INT64"),
    _required("team_abbr", "STRING"),
    _required("opponent_abbr", "STRING"),
    _required("is_home", "BOOL"),
    _required("won", "BOOL"),
    *_counts("minutes", "points", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta",
             "oreb", "dreb", "reb", "ast", "stl", "blk", "tov", "pf"),
    _required("plus_minus", "FLOAT64"),
)

PLAYER_REGISTRY = _raw_table(
    "player_registry", "as_of_date", "every person with an NBA.com id, as of a date",
    _required("as_of_date", "DATE"),
    _required("person_id", "INT64"),
    _required("full_name", "STRING"),
    _required("first_name", "STRING"),
    _required("last_name", "STRING"),
    _required("is_active", "BOOL"),
    _nullable("team_abbr", "STRING", "team as of that date, when known"),
)

PROP_LINES = _raw_table(
    "prop_lines", "game_date", "player prop lines offered for each date's games",
    _required("game_date", "DATE"),
    _required("player_name", "STRING", "as the odds feed spelled it"),
    _nullable("player_id", "INT64", "NBA person id when the name resolves"),
    _required("game", "STRING", '"Away Team Name @ Home Team Name"'),
    _required("game_time_utc", "TIMESTAMP"),
    _required("market", "STRING"),
    _required("line", "FLOAT64"),
    _required("bookmaker", "STRING"),
    _required("over_odds", "INT64"),
    _required("under_odds", "INT64"),
)

INJURY_REPORT = _raw_table(
    "injury_report", "game_date", "the injury report for each date's games, as published before tip-off",
    _required("game_date", "DATE"),
    _required("player_id", "INT64", "NBA person id, as the report gives it"),
    _required("player_name", "STRING"),
    _required("team_abbr", "STRING"),
    _required("status", "STRING", "out | doubtful | questionable | probable; 'out' is not expected to play"),
    _required("reason", "STRING"),
)

RAW_TABLES: tuple[TableSpec, ...] = (SCHEDULE, PLAYER_BOXSCORES, PLAYER_IDENTITY_REVIEW, TEAM_BOXSCORES,
                                     PLAYER_REGISTRY, PROP_LINES, INJURY_REPORT)
