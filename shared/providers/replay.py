"""`replay:PATH`: provider payloads rebuilt from the real 2024-25 files in the ../shared/data layout.

    source = ReplaySource(Path("../shared/data"))
    source.payload("schedule", date(2025, 1, 15))

Where each payload comes from (see each folder's SOURCE.md):

- schedule, team box scores: nba-team-game-logs/team_game_logs_2024_25.csv, regular season
  (GAME_ID prefix 002) and the NBA Cup final (006); the home side is the row whose MATCHUP
  has "vs." (at neutral sites both rows read "A @ B": B is home). The logs have no tip-off
  times, so `start_time_utc` is None.
- player box scores: nba-kbraj9-playerstats-2024-25/player_box_2024_25.csv — names, no ids;
  team nicknames ("Trail Blazers") become abbreviations through `shared.providers.teams`.
- player registry: nba-api-static/players.csv, all 5,198 people; `team_abbr` as of D is the
  team of the person's latest game strictly before D in player_game_logs_2024_25.csv (which
  has ids, for 432 players), else None: nothing from D itself or later (no look-ahead).
- prop lines: nba-team-game-logs/props_player_threes_2024-25_oct-nov.csv rows with file_date = D.

Each CSV is read once, on first use, into compact per-date rows; a day's payload is built from
its rows only, so a season's backfill (every day, every payload) stays fast and small.
"""
from __future__ import annotations

import csv
import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Iterator

from shared.providers import teams
from shared.providers.payloads import (
    Payload,
    PlayerBoxScore,
    PlayerBoxScores,
    PlayerRegistry,
    PropLine,
    PropLines,
    RegisteredPlayer,
    Schedule,
    ScheduledGame,
    TeamBoxScore,
    TeamBoxScores,
)

TEAM_GAME_LOGS = "nba-team-game-logs/team_game_logs_2024_25.csv"
PLAYER_GAME_LOGS = "nba-team-game-logs/player_game_logs_2024_25.csv"
PLAYER_BOX_SCORES = "nba-kbraj9-playerstats-2024-25/player_box_2024_25.csv"
PLAYERS = "nba-api-static/players.csv"
PROPS_THREES = "nba-team-game-logs/props_player_threes_2024-25_oct-nov.csv"

# GAME_ID prefix -> season type; the player box scores cover exactly these games.
_SEASON_TYPES = {"002": "regular", "006": "cup_final"}


class ReplayDataMissing(FileNotFoundError):
    """A file the replay source needs is not in the data directory."""


def _rows(path: Path) -> Iterator[dict[str, str]]:
    if not path.exists():
        raise ReplayDataMissing(f"replay data file not found: {path} (the layout of ../shared/data is expected; "
                                f"see its README.md)")
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


@dataclass(frozen=True)
class _TeamGame:
    row: TeamBoxScore
    season_type: str


class ReplaySource:
    """Payloads of the real 2024-25 season; thread-safe (the provider server is threaded)."""

    def __init__(self, data_dir: Path | str) -> None:
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise ReplayDataMissing(f"replay data directory not found: {self.data_dir}")
        self.label = f"replay:{self.data_dir}"
        self._load_lock = threading.Lock()

    def payload(self, scraper: str, day: date) -> Payload:
        builders = {"schedule": self.schedule, "player_boxscores": self.player_boxscores,
                    "team_boxscores": self.team_boxscores, "player_registry": self.player_registry,
                    "prop_lines": self.prop_lines}
        if scraper not in builders:
            raise KeyError(f"unknown scraper {scraper!r}: use one of {', '.join(builders)}")
        with self._load_lock:  # the first request of each kind loads its file; others wait for it
            return builders[scraper](day)

    def game_days(self) -> list[date]:
        """Every date with a game in the replayed season, in order."""
        return sorted(self._team_games)

    # --- payloads -----------------------------------------------------------------------
    def schedule(self, day: date) -> Schedule:
        by_game: dict[str, dict[bool, _TeamGame]] = defaultdict(dict)
        for game in self._team_games.get(day, ()):
            by_game[game.row.game_id][game.row.is_home] = game
        games = tuple(ScheduledGame(game_id=game_id, game_date=day, home_team_id=sides[True].row.team_id,
                                    home_team_abbr=sides[True].row.team_abbr, away_team_id=sides[False].row.team_id,
                                    away_team_abbr=sides[False].row.team_abbr, season_type=sides[True].season_type)
                      for game_id, sides in sorted(by_game.items()))
        return Schedule(source=self.label, as_of=day, games=games)

    def team_boxscores(self, day: date) -> TeamBoxScores:
        rows = tuple(game.row for game in self._team_games.get(day, ()))
        return TeamBoxScores(source=self.label, as_of=day, rows=rows)

    def player_boxscores(self, day: date) -> PlayerBoxScores:
        rows = tuple(PlayerBoxScore(game_date=day, **dict(zip(_PLAYER_BOX_FIELDS, values)))
                     for values in self._player_box.get(day, ()))
        return PlayerBoxScores(source=self.label, as_of=day, rows=rows)

    def player_registry(self, day: date) -> PlayerRegistry:
        players = tuple(self._with_team(person, day) for person in self._people)
        return PlayerRegistry(source=self.label, as_of=day, players=players)

    def prop_lines(self, day: date) -> PropLines:
        rows = tuple(PropLine(**dict(zip(_PROP_FIELDS, values))) for values in self._props.get(day, ()))
        return PropLines(source=self.label, as_of=day, rows=rows)

    # --- loading, once per file ---------------------------------------------------------
    @cached_property
    def _team_games(self) -> dict[date, list[_TeamGame]]:
        rows = [r for r in _rows(self.data_dir / TEAM_GAME_LOGS) if r["GAME_ID"][:3] in _SEASON_TYPES]
        opponents = defaultdict(dict)
        for r in rows:
            opponents[r["GAME_ID"]][r["TEAM_ABBREVIATION"]] = r
        by_day: dict[date, list[_TeamGame]] = defaultdict(list)
        for r in sorted(rows, key=lambda r: (r["GAME_ID"], not _is_home(r))):
            opponent = next(abbr for abbr in opponents[r["GAME_ID"]] if abbr != r["TEAM_ABBREVIATION"])
            game = _TeamGame(_team_box_score(r, opponent), _SEASON_TYPES[r["GAME_ID"][:3]])
            by_day[game.row.game_date].append(game)
        return dict(by_day)

    @cached_property
    def _player_box(self) -> dict[date, list[tuple]]:
        """Rows as plain tuples (in `_PLAYER_BOX_FIELDS` order): a season of models would weigh ~70 MB."""
        by_day: dict[date, list[tuple]] = defaultdict(list)
        names: dict[str, str] = {}
        for r in _rows(self.data_dir / PLAYER_BOX_SCORES):
            by_day[date.fromisoformat(r["gameDate"])].append(_player_box_values(r, names))
        for rows in by_day.values():
            rows.sort(key=lambda v: (not v[3], v[1], -v[5], v[0]))  # home first, then team, minutes, name
        return dict(by_day)

    @cached_property
    def _people(self) -> tuple[RegisteredPlayer, ...]:
        return tuple(RegisteredPlayer(person_id=int(r["id"]), full_name=r["full_name"], first_name=r["first_name"],
                                      last_name=r["last_name"], is_active=r["is_active"] == "True")
                     for r in _rows(self.data_dir / PLAYERS))

    @cached_property
    def _team_history(self) -> dict[int, tuple[list[date], list[str]]]:
        """person id -> (game dates ascending, team abbreviation of each game)."""
        games: dict[int, list[tuple[date, str]]] = defaultdict(list)
        for r in _rows(self.data_dir / PLAYER_GAME_LOGS):
            games[int(r["player_id"])].append((date.fromisoformat(r["date"]), r["matchup"][:3]))
        history = {}
        for person_id, played in games.items():
            played.sort()
            history[person_id] = ([d for d, _ in played], [team for _, team in played])
        return history

    @cached_property
    def _props(self) -> dict[date, list[tuple]]:
        """Rows as plain tuples in `_PROP_FIELDS` order, strings shared (most repeat)."""
        by_day: dict[date, list[tuple]] = defaultdict(list)
        shared: dict[str, str] = {}
        for r in _rows(self.data_dir / PROPS_THREES):
            by_day[date.fromisoformat(r["file_date"])].append(_prop_values(r, shared))
        return dict(by_day)

    def _with_team(self, person: RegisteredPlayer, day: date) -> RegisteredPlayer:
        history = self._team_history.get(person.person_id)
        if history is None:
            return person
        dates, team_abbrs = history
        before = bisect_left(dates, day)  # games strictly before `day`
        return person.model_copy(update={"team_abbr": team_abbrs[before - 1]}) if before else person


def _is_home(r: dict[str, str]) -> bool:
    """"BOS vs. NYK" is BOS at home; "NYK @ BOS" is NYK away. At neutral sites (Mexico City, Paris,
    the NBA Cup in Las Vegas) both rows read "A @ B" and B is the designated home team."""
    matchup = r["MATCHUP"]
    if " vs. " in matchup:
        return True
    return matchup.split(" @ ")[1].strip() == r["TEAM_ABBREVIATION"]


def _team_box_score(r: dict[str, str], opponent_abbr: str) -> TeamBoxScore:
    ints = {field: int(r[column]) for field, column in (
        ("minutes", "MIN"), ("points", "PTS"), ("fgm", "FGM"), ("fga", "FGA"), ("fg3m", "FG3M"), ("fg3a", "FG3A"),
        ("ftm", "FTM"), ("fta", "FTA"), ("oreb", "OREB"), ("dreb", "DREB"), ("reb", "REB"), ("ast", "AST"),
        ("stl", "STL"), ("blk", "BLK"), ("tov", "TOV"), ("pf", "PF"))}
    return TeamBoxScore(game_id=r["GAME_ID"], game_date=date.fromisoformat(r["GAME_DATE"]), team_id=int(r["TEAM_ID"]),
                        team_abbr=r["TEAM_ABBREVIATION"], opponent_abbr=opponent_abbr, is_home=_is_home(r),
                        won=r["WL"] == "W", plus_minus=float(r["PLUS_MINUS"]), **ints)


_PLAYER_BOX_FIELDS = ("player_name", "team_abbr", "opponent_abbr", "is_home", "won", "minutes", "points", "rebounds",
                      "assists", "steals", "blocks", "turnovers", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta")
_PLAYER_BOX_COLUMNS = ("PTS", "TRB", "AST", "STL", "BLK", "TOV", "FG", "FGA", "3PM", "3PA", "FTM", "FTA")
_PROP_FIELDS = ("player_name", "game", "game_time_utc", "market", "line", "bookmaker", "over_odds", "under_odds")


def _player_box_values(r: dict[str, str], names: dict[str, str]) -> tuple:
    name = names.setdefault(r["firstName"], r["firstName"])
    return (name, teams.by_nickname(r["playerteamName"]).abbr, teams.by_nickname(r["opponentteamName"]).abbr,
            r["home"] == "1", r["win"] == "1", float(r["MP"]), *(int(r[c]) for c in _PLAYER_BOX_COLUMNS))


def _prop_values(r: dict[str, str], shared: dict[str, object]) -> tuple:
    def one(value: object) -> object:
        return shared.setdefault(value, value)

    return (one(r["player"]), one(r["game"]), one(datetime.fromisoformat(r["game_time"])),
            one(r["market"]), float(r["line"]), one(r["bookmaker"]), int(r["over_odds"]), int(r["under_odds"]))
