"""The Phase 3 analytics tables (dataset nba_analytics), each partitioned on game_date = the
analysis date D. Game summaries describe the games played on D; the upcoming contexts
describe D's games as seen before tip-off, from history strictly before D."""
from __future__ import annotations

from shared.pipeline.schema import game_date_table
from shared.ports.warehouse import FieldSpec, TableSpec
from shared.ports.warehouse import nullable as _opt
from shared.ports.warehouse import required as _req

DATASET = "nba_analytics"


def _table(name: str, description: str, *fields: FieldSpec, clustering: tuple[str, ...] = ()) -> TableSpec:
    return game_date_table(DATASET, name, description, *fields, clustering=clustering)


_GAME_DATE = _req("game_date", "DATE", "the analysis date D: the day the game is played")
_TEAM_GAME = (
    _GAME_DATE,
    _req("game_id", "STRING", "NBA game id"),
    _opt("team_id", "INT64", "NBA team id"),
    _req("team_abbr", "STRING", "NBA.com team abbreviation"),
    _opt("opponent_abbr", "STRING", "the opponent's abbreviation"),
    _opt("is_home", "BOOL", "the team played at home"),
    _opt("won", "BOOL", "the team won"),
    _opt("team_minutes", "INT64", "sum of the team's player minutes (240 in regulation)"),
    _opt("possessions", "FLOAT64", "game possessions: mean of both teams' FGA − OREB + TOV + 0.44·FTA"),
    _opt("pace", "FLOAT64", "possessions per 48 minutes"),
)

PLAYER_GAME_SUMMARY = _table(
    "player_game_summary",
    "one row per player per game played on D: the box score plus efficiency, usage and per-36 rates",
    _GAME_DATE,
    _opt("game_id", "STRING", "NBA game id (the box score's, else the schedule's by date and team)"),
    _req("player_id", "INT64", "NBA person id"),
    _req("player_name", "STRING", "name as the provider spelled it"),
    _req("team_abbr", "STRING", "the player's team"),
    _opt("opponent_abbr", "STRING", "the opposing team"),
    _opt("is_home", "BOOL", "the player's team played at home"),
    _opt("won", "BOOL", "the player's team won"),
    _opt("minutes", "FLOAT64", "minutes played"),
    *(_opt(stat, "INT64", f"box score: {stat}") for stat in (
        "points", "rebounds", "assists", "steals", "blocks", "turnovers",
        "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")),
    _opt("fg2m", "INT64", "two-point field goals made (FGM − 3PM)"),
    _opt("fg2a", "INT64", "two-point field goals attempted (FGA − 3PA)"),
    _opt("fg_pct", "FLOAT64", "FGM / FGA"),
    _opt("fg3_pct", "FLOAT64", "3PM / 3PA"),
    _opt("ft_pct", "FLOAT64", "FTM / FTA"),
    _opt("ts_pct", "FLOAT64", "true shooting: PTS / (2·(FGA + 0.44·FTA))"),
    _opt("efg_pct", "FLOAT64", "effective FG%: (FGM + 0.5·3PM) / FGA"),
    _opt("usage_rate", "FLOAT64", "USG%: share of team plays used while on the floor, per 100 (needs the team box)"),
    _opt("fg3a_rate", "FLOAT64", "3PA / FGA"),
    _opt("ft_rate", "FLOAT64", "FTA / FGA"),
    _opt("points_per36", "FLOAT64", "points per 36 minutes"),
    _opt("rebounds_per36", "FLOAT64", "rebounds per 36 minutes"),
    _opt("assists_per36", "FLOAT64", "assists per 36 minutes"),
    _opt("threes_per36", "FLOAT64", "threes made per 36 minutes"),
    clustering=("team_abbr", "player_id"),
)

TEAM_OFFENSE_GAME_SUMMARY = _table(
    "team_offense_game_summary",
    "one row per team per game played on D: the team's offense — pace, offensive rating, four factors, shot profile",
    *_TEAM_GAME,
    _opt("points", "INT64", "points scored"),
    _opt("opponent_points", "INT64", "points allowed"),
    *(_opt(stat, "INT64", f"team box score: {stat}") for stat in (
        "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "ast", "tov")),
    _opt("offensive_rating", "FLOAT64", "points per 100 possessions"),
    _opt("ts_pct", "FLOAT64", "true shooting percentage"),
    _opt("efg_pct", "FLOAT64", "effective field-goal percentage"),
    _opt("tov_pct", "FLOAT64", "turnovers per play: TOV / (FGA + 0.44·FTA + TOV)"),
    _opt("oreb_pct", "FLOAT64", "OREB / (OREB + opponent DREB)"),
    _opt("ft_rate", "FLOAT64", "FTA / FGA"),
    _opt("fg3a_rate", "FLOAT64", "shot profile: share of FGA from three"),
    _opt("three_point_share", "FLOAT64", "shot profile: share of points from threes"),
    _opt("two_point_share", "FLOAT64", "shot profile: share of points from twos"),
    _opt("free_throw_share", "FLOAT64", "shot profile: share of points from free throws"),
    _opt("assist_rate", "FLOAT64", "AST / FGM: share of field goals assisted"),
    clustering=("team_abbr",),
)

TEAM_DEFENSE_GAME_SUMMARY = _table(
    "team_defense_game_summary",
    "one row per team per game played on D: the team's defense — what its opponent did against it",
    *_TEAM_GAME,
    _opt("points_allowed", "INT64", "opponent points"),
    *(_opt(f"opp_{stat}", "INT64", f"opponent box score: {stat}") for stat in (
        "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "tov")),
    _opt("dreb", "INT64", "the team's defensive rebounds"),
    _opt("steals", "INT64", "the team's steals"),
    _opt("blocks", "INT64", "the team's blocks"),
    _opt("defensive_rating", "FLOAT64", "points allowed per 100 possessions"),
    _opt("opp_efg_pct", "FLOAT64", "opponent effective FG%"),
    _opt("opp_tov_pct", "FLOAT64", "opponent turnovers per play (forced turnovers)"),
    _opt("dreb_pct", "FLOAT64", "DREB / (DREB + opponent OREB)"),
    _opt("opp_ft_rate", "FLOAT64", "opponent FTA / FGA"),
    _opt("opp_fg3a_rate", "FLOAT64", "allowed shot profile: opponent share of FGA from three"),
    _opt("opp_three_point_share", "FLOAT64", "allowed shot profile: share of points allowed from threes"),
    _opt("opp_two_point_share", "FLOAT64", "allowed shot profile: share of points allowed from twos"),
    _opt("opp_free_throw_share", "FLOAT64", "allowed shot profile: share of points allowed from free throws"),
    clustering=("team_abbr",),
)

_SEASON_NOTE = "this season before D"

UPCOMING_TEAM_GAME_CONTEXT = _table(
    "upcoming_team_game_context",
    "one row per team per game scheduled on D, as seen before tip-off: rest, form and opponent "
    "strength from games before D",
    _GAME_DATE,
    _req("game_id", "STRING", "NBA game id"),
    _opt("team_id", "INT64", "NBA team id"),
    _req("team_abbr", "STRING", "the team"),
    _req("opponent_abbr", "STRING", "the opponent"),
    _req("is_home", "BOOL", "the team plays at home"),
    _opt("start_time_utc", "TIMESTAMP", "scheduled tip-off"),
    _opt("season_type", "STRING", "regular, playoffs, ..."),
    _req("games_played", "INT64", f"games {_SEASON_NOTE}"),
    _opt("last_game_date", "DATE", f"the team's previous game {_SEASON_NOTE}"),
    _opt("days_rest", "INT64", "days since the previous game (1 = played yesterday); NULL without one"),
    _req("is_back_to_back", "BOOL", "played yesterday"),
    _req("games_last_7_days", "INT64", "games in the 7 days before D"),
    _opt("win_pct", "FLOAT64", f"win percentage {_SEASON_NOTE}"),
    _opt("offensive_rating", "FLOAT64", f"points per 100 possessions {_SEASON_NOTE}"),
    _opt("defensive_rating", "FLOAT64", f"points allowed per 100 possessions {_SEASON_NOTE}"),
    _opt("net_rating", "FLOAT64", "offensive − defensive rating"),
    _opt("pace", "FLOAT64", f"possessions per 48 minutes {_SEASON_NOTE}"),
    _opt("win_pct_last10", "FLOAT64", "recent form: win percentage over the last 10 games"),
    _opt("avg_margin_last10", "FLOAT64", "recent form: mean point margin over the last 10 games"),
    _opt("opponent_days_rest", "INT64", "the opponent's days since its previous game"),
    _opt("rest_advantage", "INT64", "days_rest − opponent_days_rest"),
    _opt("opponent_win_pct", "FLOAT64", f"opponent strength: win percentage {_SEASON_NOTE}"),
    _opt("opponent_offensive_rating", "FLOAT64", f"opponent strength: offensive rating {_SEASON_NOTE}"),
    _opt("opponent_defensive_rating", "FLOAT64", f"opponent strength: defensive rating {_SEASON_NOTE}"),
    _opt("opponent_net_rating", "FLOAT64", f"opponent strength: net rating {_SEASON_NOTE}"),
    _opt("opponent_pace", "FLOAT64", f"opponent pace {_SEASON_NOTE}"),
    clustering=("team_abbr",),
)

UPCOMING_PLAYER_GAME_CONTEXT = _table(
    "upcoming_player_game_context",
    "one row per expected player per game scheduled on D, as seen before tip-off: roster, rest, "
    "recent form, opponent and the day's prop lines",
    _GAME_DATE,
    _req("game_id", "STRING", "NBA game id"),
    _req("player_id", "INT64", "NBA person id"),
    _req("player_name", "STRING", "registry full name (else the latest box-score spelling)"),
    _req("team_abbr", "STRING", "the player's team on D"),
    _req("opponent_abbr", "STRING", "the opponent"),
    _req("is_home", "BOOL", "the player's team plays at home"),
    _opt("start_time_utc", "TIMESTAMP", "scheduled tip-off"),
    _req("roster_source", "STRING", "registry (latest registry ≤ D) | history (team missing from the registry: "
                                    "the player's latest team before D)"),
    _req("games_played", "INT64", f"the player's games {_SEASON_NOTE}"),
    _opt("last_game_date", "DATE", f"the player's previous game {_SEASON_NOTE}"),
    _opt("days_rest", "INT64", "days since the player's previous game; NULL without one"),
    _req("is_back_to_back", "BOOL", "the player played yesterday"),
    _req("games_last_7_days", "INT64", "the player's games in the 7 days before D"),
    _opt("minutes_avg_last5", "FLOAT64", "recent form: minutes per game, last 5 games"),
    _opt("points_avg_last5", "FLOAT64", "recent form: points per game, last 5 games"),
    _opt("points_avg_season", "FLOAT64", f"points per game {_SEASON_NOTE}"),
    _opt("team_pace", "FLOAT64", f"the team's pace {_SEASON_NOTE}"),
    _opt("opponent_pace", "FLOAT64", f"the opponent's pace {_SEASON_NOTE}"),
    _opt("opponent_defensive_rating", "FLOAT64", f"opponent points allowed per 100 possessions {_SEASON_NOTE}"),
    _opt("opponent_win_pct", "FLOAT64", f"opponent win percentage {_SEASON_NOTE}"),
    _opt("points_line", "FLOAT64", "mean player_points line across bookmakers on D"),
    _opt("rebounds_line", "FLOAT64", "mean player_rebounds line across bookmakers on D"),
    _opt("assists_line", "FLOAT64", "mean player_assists line across bookmakers on D"),
    _opt("threes_line", "FLOAT64", "mean player_threes line across bookmakers on D"),
    _req("prop_bookmakers", "INT64", "bookmakers offering any line for the player on D"),
    clustering=("team_abbr", "player_id"),
)

TABLES: tuple[TableSpec, ...] = (PLAYER_GAME_SUMMARY, TEAM_OFFENSE_GAME_SUMMARY, TEAM_DEFENSE_GAME_SUMMARY,
                                 UPCOMING_PLAYER_GAME_CONTEXT, UPCOMING_TEAM_GAME_CONTEXT)
