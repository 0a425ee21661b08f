"""`replay:PATH`: provider payloads rebuilt from real season files (the ../shared/data layout, any season).

    source = ReplaySource(Path("../shared/data"))
    source.check()                    # every file found, read and parsed, or one clear error
    source.payload("schedule", date(2025, 1, 15))

Which files: `shared.providers.replay_layout` (a `replay.json` manifest, or the file names
of ../shared/data with any season in them; several seasons side by side). Where each payload
comes from (see each folder's SOURCE.md):

- schedule, team box scores: the team game logs, regular season (GAME_ID prefix 002) and the
  NBA Cup final (006); the home side is the row whose MATCHUP has "vs." (at neutral sites both
  rows read "A @ B": B is home). The logs have no tip-off times, so `start_time_utc` is None.
- player box scores: names, no ids; team nicknames ("Trail Blazers") become abbreviations
  through `shared.providers.teams`.
- player registry: every person of players.csv, with the roster as of D — what a provider
  knows before tip-off (the league's rosters and injury report). The replay files have no
  rosters, so they are approximated from the season's games WITHOUT the games of D itself: a
  person's team as of D is the team of his latest game strictly before D, else (he has not
  played yet this season) of his first game after D. His games come from the id-bearing
  player game logs when he is in them, else from the box scores, by his name when exactly
  one person of players.csv who can have played then has it (career spans by person id,
  `shared.identity.careers`; a person with a current namesake stays without a team). A person
  with a team as of D is active on D; the others keep players.csv's `is_active` (a snapshot
  taken long after the season). Changing D's box scores never changes the registry of D.
- injury report: the files have none, so it is approximated the same way, from games before D
  only: a person whose team as of D (the registry's rule above) plays on D, and who missed his
  team's last `OUT_AFTER_MISSED_GAMES` (3) or more games before D, is listed "out"; one who missed
  the last one or two is "questionable" (still expected). "Missed" means no box-score row: a
  healthy scratch (coach's decision) counts as missed too, and a player back on D from a long
  absence is still listed out (his return is in D's box scores, which are never read). Early in a
  season (his team has played fewer than 3 games) nobody is out. Changing D's box scores never
  changes the report of D.
- prop lines: the prop files' rows with file_date = D.

Each CSV is read once, on first use (or by `check()`), into compact per-date rows; a day's
payload is built from its rows only, so a season's backfill stays fast and small.
"""
from __future__ import annotations

import csv
import threading
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterator, Literal, get_args, get_origin

import annotated_types
from pydantic import AwareDatetime, BaseModel

from shared.providers import teams
from shared.providers.payloads import (
    InjuryReport,
    Payload,
    PlayerBoxScore,
    PlayerBoxScores,
    PlayerRegistry,
    PropLine,
    PropLines,
    RegisteredPlayer,
    ReportedPlayer,
    Schedule,
    ScheduledGame,
    TeamBoxScore,
    TeamBoxScores,
)
from shared.providers.replay_cache import ReplayCache, files_key
from shared.providers.replay_layout import ReplayDataInvalid, ReplayDataMissing, ReplayLayout
from shared.providers.seasons import Season

# The ../shared/data names of the 2024-25 files (tests compare against them).
TEAM_GAME_LOGS = "nba-team-game-logs/team_game_logs_2024_25.csv"
PLAYER_GAME_LOGS = "nba-team-game-logs/player_game_logs_2024_25.csv"
PLAYER_BOX_SCORES = "nba-kbraj9-playerstats-2024-25/player_box_2024_25.csv"
PLAYERS = "nba-api-static/players.csv"
PROPS_THREES = "nba-team-game-logs/props_player_threes_2024-25_oct-nov.csv"

# A rostered player who missed his team's last this many games before D is listed out on D.
OUT_AFTER_MISSED_GAMES = 3

# GAME_ID prefix -> season type; the player box scores cover exactly these games.
_SEASON_TYPES = {"002": "regular", "006": "cup_final"}

# What `check()` loads, and so what the cache holds.
_CACHED = ("_team_games", "_player_box", "_people", "_team_history", "_props")

__all__ = ["ReplaySource", "ReplayDataMissing", "ReplayDataInvalid"]


def _parsed(path: Path, parse: Callable[[dict[str, str]], Any]) -> Iterator[Any]:
    """parse(row) of every row of a CSV; a row it cannot parse is an error naming file and line."""
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                value = parse(row)
            except (KeyError, ValueError, TypeError, IndexError) as error:
                raise ReplayDataInvalid(f"{path} line {line}: cannot read this row ({type(error).__name__}: "
                                        f"{error})") from None
            if value is not None:
                yield value


@dataclass(frozen=True)
class _TeamGame:
    row: TeamBoxScore
    season_type: str


class ReplaySource:
    """Payloads of real seasons; thread-safe (the provider server is threaded)."""

    def __init__(self, data_dir: Path | str, cache: ReplayCache | None | Literal["default"] = "default") -> None:
        self.data_dir = Path(data_dir)
        self.layout = ReplayLayout.discover(self.data_dir)
        self.label = f"replay:{self.data_dir}"
        self._load_lock = threading.Lock()
        self._cache = ReplayCache.default() if cache == "default" else cache

    def check(self) -> None:
        """Read and parse every file now, before any scraper asks: a missing column, an unreadable
        row or an unknown team is a `ReplayDataInvalid` naming the file (and line). Files checked
        before, unchanged, by the same code, are loaded from the cache instead (`replay_cache`)."""
        self.layout.check_headers()
        with self._load_lock:
            files = [(kind, path) for kind, paths in sorted(self.layout.files.items()) for path in paths]
            key = files_key(files) if self._cache else None
            cached = self._cache.load(files, key) if self._cache else None
            if cached is not None and set(cached) == set(_CACHED):
                self.__dict__.update(cached)  # what each cached_property would have computed
                return
            loaded = {name: getattr(self, name) for name in _CACHED}
            # stored only if the files still hash as before the parse: a file replaced meanwhile (a
            # pull, an rsync) would otherwise put the new rows under the old content's key
            if self._cache and files_key(files) == key:
                self._cache.store(files, key, loaded)

    def payload(self, scraper: str, day: date) -> Payload:
        builders = {"schedule": self.schedule, "player_boxscores": self.player_boxscores,
                    "team_boxscores": self.team_boxscores, "player_registry": self.player_registry,
                    "prop_lines": self.prop_lines, "injury_report": self.injury_report}
        if scraper not in builders:
            raise KeyError(f"unknown scraper {scraper!r}: use one of {', '.join(builders)}")
        with self._load_lock:  # the first request of each kind loads its file; others wait for it
            return builders[scraper](day)

    def game_days(self) -> list[date]:
        """Every date with a game in the replayed seasons, in order."""
        return sorted(self._team_games)

    def seasons(self) -> list[Season]:
        """Each season the files hold: its first and last game date."""
        by_label: dict[str, list[date]] = defaultdict(list)
        for day, games in self._team_games.items():
            by_label[_season_label(games[0].row.game_id)].append(day)
        return sorted(Season(label, min(days), max(days)) for label, days in by_label.items())

    def empty_reasons(self, day: date) -> dict[str, str]:
        """scraper -> why its payload for `day` is empty although `day` has games."""
        if not self._team_games.get(day) or self._props.get(day):
            return {}
        if not self.layout.files["prop_lines"]:
            return {"prop_lines": f"the replay folder {self.data_dir} has no prop-line file"}
        covered = sorted(self._props)
        return {"prop_lines": f"no prop lines in the source for {day:%B %Y}: its prop files cover "
                              f"{covered[0]}..{covered[-1]}" if covered else "the prop files have no rows"}

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

    def injury_report(self, day: date) -> InjuryReport:
        """The players of D's teams who missed their team's latest games before D (module docstring)."""
        playing = {game.row.team_abbr for game in self._team_games.get(day, ())}
        listed = []
        for person_id in sorted(self._team_history):  # only people with games can be on a roster
            roster_spot = self._roster_spot(person_id, day)
            if roster_spot is None or roster_spot[0] not in playing or person_id not in self._person_by_id:
                continue
            team, last_played = roster_spot
            missed = self._team_games_between(team, last_played, day)
            if missed:
                status = "out" if missed >= OUT_AFTER_MISSED_GAMES else "questionable"
                listed.append(ReportedPlayer(person_id=person_id, player_name=self._person_by_id[person_id].full_name,
                                             team_abbr=team, status=status,
                                             reason=f"missed the team's last {missed} game(s)"))
        return InjuryReport(source=self.label, as_of=day, players=tuple(listed))

    # --- loading, once per file ---------------------------------------------------------
    @cached_property
    def _team_games(self) -> dict[date, list[_TeamGame]]:
        rows = [r for path in self.layout.files["team_game_logs"] for r in _parsed(path, _kept_team_row)]
        opponents: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            opponents[r["GAME_ID"]].append(r["TEAM_ABBREVIATION"])
        by_day: dict[date, list[_TeamGame]] = defaultdict(list)
        for r in sorted(rows, key=lambda r: (r["GAME_ID"], not _is_home(r))):
            others = [abbr for abbr in opponents[r["GAME_ID"]] if abbr != r["TEAM_ABBREVIATION"]]
            if len(others) != 1:
                raise ReplayDataInvalid(f"team game logs: game {r['GAME_ID']} has {len(others) + 1} team row(s) "
                                        f"({', '.join(opponents[r['GAME_ID']])}), expected 2")
            game = _TeamGame(_team_box_score(r, others[0]), _SEASON_TYPES[r["GAME_ID"][:3]])
            by_day[game.row.game_date].append(game)
        return dict(by_day)

    @cached_property
    def _player_box(self) -> dict[date, list[tuple]]:
        """Rows as plain tuples (in `_PLAYER_BOX_FIELDS` order): a season of models would weigh ~70 MB."""
        by_day: dict[date, list[tuple]] = defaultdict(list)
        names: dict[str, str] = {}
        for path in self.layout.files["player_box_scores"]:
            for day, values in _parsed(path, lambda r: (date.fromisoformat(r["gameDate"]),
                                                        _player_box_values(r, names))):
                by_day[day].append(values)
        for rows in by_day.values():
            rows.sort(key=lambda v: (not v[3], v[1], -v[5], v[0]))  # home first, then team, minutes, name
        return dict(by_day)

    @cached_property
    def _people(self) -> tuple[RegisteredPlayer, ...]:
        return tuple(_parsed(self.layout.files["players"][0], lambda r: RegisteredPlayer(
            person_id=int(r["id"]), full_name=r["full_name"], first_name=r["first_name"], last_name=r["last_name"],
            is_active=r["is_active"] == "True")))

    @cached_property
    def _person_by_id(self) -> dict[int, RegisteredPlayer]:
        return {person.person_id: person for person in self._people}

    @cached_property
    def _team_history(self) -> dict[int, tuple[list[date], list[str]]]:
        """person id -> (game dates ascending, team abbreviation of each game): the id-bearing
        game logs, and for the people not in them their box-score games by a unique name."""
        games: dict[int, list[tuple[date, str]]] = defaultdict(list)
        days: dict[str, date] = {}  # one object per date: the cache entry holds each date once
        for path in self.layout.files["player_game_logs"]:
            for person_id, day, team in _parsed(path, lambda r: (int(r["player_id"]), _day(days, r["date"]),
                                                                 r["matchup"][:3])):
                games[person_id].append((day, team))
        with_logs = set(games)
        person_of_name = self._unique_person_of_name()
        for day, rows in self._player_box.items():
            for values in rows:
                person_id = person_of_name.get(values[0])
                if person_id is not None and person_id not in with_logs:
                    games[person_id].append((day, values[1]))
        history = {}
        for person_id, played in games.items():
            played.sort()
            history[person_id] = ([d for d, _ in played], [team for _, team in played])
        return history

    def _unique_person_of_name(self) -> dict[str, int]:
        """Box-score name -> person id, for names exactly one person of players.csv has who can
        have played then (career spans by person id: a retired namesake is left out)."""
        from shared.identity.careers import could_play
        from shared.identity.names import name_key
        people: dict[str, list[int]] = defaultdict(list)
        for person in self._people:
            people[name_key(person.full_name).full].append(person.person_id)
        first_seen: dict[str, date] = {}
        for day in sorted(self._player_box):
            for values in self._player_box[day]:
                first_seen.setdefault(values[0], day)
        unique = {}
        for name, day in first_seen.items():
            ids = [i for i in people.get(name_key(name).full, []) if could_play(i, day)]
            if len(ids) == 1:
                unique[name] = ids[0]
        return unique

    @cached_property
    def _props(self) -> dict[date, list[tuple]]:
        """Rows as plain tuples in `_PROP_FIELDS` order, strings shared (most repeat)."""
        by_day: dict[date, list[tuple]] = defaultdict(list)
        shared: dict[str, str] = {}
        for path in self.layout.files["prop_lines"]:
            for day, values in _parsed(path, lambda r: (date.fromisoformat(r["file_date"]), _prop_values(r, shared))):
                by_day[day].append(values)
        return dict(by_day)

    def _with_team(self, person: RegisteredPlayer, day: date) -> RegisteredPlayer:
        roster_spot = self._roster_spot(person.person_id, day)
        if roster_spot is None:
            return person
        return person.model_copy(update={"team_abbr": roster_spot[0], "is_active": True})

    def _roster_spot(self, person_id: int, day: date) -> tuple[str, date | None] | None:
        """(his team as of `day`, the date of his latest game this season before `day` or None),
        or None when he plays no game of `day`'s season. Never reads a game of `day` itself."""
        history = self._team_history.get(person_id)
        season = self._season_of(day)
        if history is None or season is None:
            return None
        dates, team_abbrs = history
        before = bisect_left(dates, day)  # games strictly before `day`
        if before and dates[before - 1] >= season.first:
            return team_abbrs[before - 1], dates[before - 1]
        # not played yet this season: his first team after `day` (never a game on `day` itself)
        after = bisect_left(dates, day + timedelta(days=1))
        if after == len(dates) or dates[after] > season.last:
            return None
        return team_abbrs[after], None

    def _team_games_between(self, team: str, last_played: date | None, day: date) -> int:
        """How many games `team` played after `last_played` (or since its season began) and before `day`."""
        dates = self._team_game_dates.get(team, [])
        season = self._season_of(day)
        start = last_played + timedelta(days=1) if last_played else season.first
        return bisect_left(dates, day) - bisect_left(dates, start)

    def _season_of(self, day: date) -> Season | None:
        return next((s for s in self._season_spans if s.first <= day <= s.last), None)

    @cached_property
    def _team_game_dates(self) -> dict[str, list[date]]:
        by_team: dict[str, list[date]] = defaultdict(list)
        for day, games in self._team_games.items():
            for game in games:
                by_team[game.row.team_abbr].append(day)
        return {team: sorted(days) for team, days in by_team.items()}

    @cached_property
    def _season_spans(self) -> list[Season]:
        return self.seasons()


def _day(days: dict[str, date], text: str) -> date:
    day = days.get(text)
    if day is None:
        day = days[text] = date.fromisoformat(text)
    return day


def _season_label(game_id: str) -> str:
    """"0022400061" -> "2024-25" (the NBA game id's digits 4-5 are the season's start year)."""
    two_digits = int(game_id[3:5])
    start = (1900 if two_digits >= 46 else 2000) + two_digits
    return f"{start}-{(start + 1) % 100:02d}"


def _kept_team_row(r: dict[str, str]) -> dict[str, str] | None:
    return r if r["GAME_ID"][:3] in _SEASON_TYPES else None


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


def _tuple_check(model: type[BaseModel], fields: tuple[str, ...]) -> Callable[[tuple], tuple]:
    """A check of a row kept as a plain tuple (in `fields` order) against the constraints of the
    contract `model` it is served as (bounds, lengths, allowed values, aware times): a row the
    contract would refuse at serve time is refused while the file is read, naming its line."""
    checks: list[tuple[int, str, Callable[[Any], bool], str]] = []
    for index, name in enumerate(fields):
        info = model.model_fields[name]
        for constraint in info.metadata:
            if isinstance(constraint, annotated_types.Ge):
                checks.append((index, name, lambda v, bound=constraint.ge: v >= bound, f">= {constraint.ge}"))
            elif isinstance(constraint, annotated_types.MinLen):
                checks.append((index, name, lambda v, n=constraint.min_length: len(v) >= n,
                               f"at least {constraint.min_length} character(s)"))
        if get_origin(info.annotation) is Literal:
            allowed = frozenset(get_args(info.annotation))
            checks.append((index, name, allowed.__contains__, f"one of {', '.join(sorted(map(str, allowed)))}"))
        elif info.annotation is AwareDatetime:
            checks.append((index, name, lambda v: v.tzinfo is not None, "a time with its UTC offset"))

    def check(values: tuple) -> tuple:
        for index, name, ok, wanted in checks:
            if not ok(values[index]):
                raise ValueError(f"{name} {values[index]!r} must be {wanted} ({model.__name__})")
        return values
    return check


_checked_player_box = _tuple_check(PlayerBoxScore, _PLAYER_BOX_FIELDS)
_checked_prop = _tuple_check(PropLine, _PROP_FIELDS)


def _player_box_values(r: dict[str, str], names: dict[str, str]) -> tuple:
    name = names.setdefault(r["firstName"], r["firstName"])
    return _checked_player_box((name, teams.by_nickname(r["playerteamName"]).abbr,
                                teams.by_nickname(r["opponentteamName"]).abbr, r["home"] == "1", r["win"] == "1",
                                float(r["MP"]), *(int(r[c]) for c in _PLAYER_BOX_COLUMNS)))


def _prop_values(r: dict[str, str], shared: dict[str, object]) -> tuple:
    def one(value: object) -> object:
        return shared.setdefault(value, value)

    return _checked_prop((one(r["player"]), one(r["game"]), one(datetime.fromisoformat(r["game_time"])),
                          one(r["market"]), float(r["line"]), one(r["bookmaker"]), int(r["over_odds"]),
                          int(r["under_odds"])))
