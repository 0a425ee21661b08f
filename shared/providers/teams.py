"""The 30 NBA teams: NBA.com team id, abbreviation, city, nickname (public facts).

Providers name teams three ways — abbreviation ("POR"), nickname ("Trail Blazers", two
words) and full name ("Portland Trail Blazers") — and every source here has to map between
them. Odds feeds also write "LA Clippers" for "Los Angeles Clippers"; `by_full_name` knows it.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    team_id: int
    abbr: str
    city: str
    nickname: str
    conference: str  # "East" | "West"
    division: str
    full_name: str = ""  # "<city> <nickname>" unless the franchise says otherwise (Golden State)

    def __post_init__(self) -> None:
        if not self.full_name:
            object.__setattr__(self, "full_name", f"{self.city} {self.nickname}")


TEAMS: tuple[Team, ...] = (
    Team(1610612737, "ATL", "Atlanta", "Hawks", "East", "Southeast"),
    Team(1610612738, "BOS", "Boston", "Celtics", "East", "Atlantic"),
    Team(1610612739, "CLE", "Cleveland", "Cavaliers", "East", "Central"),
    Team(1610612740, "NOP", "New Orleans", "Pelicans", "West", "Southwest"),
    Team(1610612741, "CHI", "Chicago", "Bulls", "East", "Central"),
    Team(1610612742, "DAL", "Dallas", "Mavericks", "West", "Southwest"),
    Team(1610612743, "DEN", "Denver", "Nuggets", "West", "Northwest"),
    Team(1610612744, "GSW", "San Francisco", "Warriors", "West", "Pacific", "Golden State Warriors"),
    Team(1610612745, "HOU", "Houston", "Rockets", "West", "Southwest"),
    Team(1610612746, "LAC", "Los Angeles", "Clippers", "West", "Pacific"),
    Team(1610612747, "LAL", "Los Angeles", "Lakers", "West", "Pacific"),
    Team(1610612748, "MIA", "Miami", "Heat", "East", "Southeast"),
    Team(1610612749, "MIL", "Milwaukee", "Bucks", "East", "Central"),
    Team(1610612750, "MIN", "Minnesota", "Timberwolves", "West", "Northwest"),
    Team(1610612751, "BKN", "Brooklyn", "Nets", "East", "Atlantic"),
    Team(1610612752, "NYK", "New York", "Knicks", "East", "Atlantic"),
    Team(1610612753, "ORL", "Orlando", "Magic", "East", "Southeast"),
    Team(1610612754, "IND", "Indiana", "Pacers", "East", "Central"),
    Team(1610612755, "PHI", "Philadelphia", "76ers", "East", "Atlantic"),
    Team(1610612756, "PHX", "Phoenix", "Suns", "West", "Pacific"),
    Team(1610612757, "POR", "Portland", "Trail Blazers", "West", "Northwest"),
    Team(1610612758, "SAC", "Sacramento", "Kings", "West", "Pacific"),
    Team(1610612759, "SAS", "San Antonio", "Spurs", "West", "Southwest"),
    Team(1610612760, "OKC", "Oklahoma City", "Thunder", "West", "Northwest"),
    Team(1610612761, "TOR", "Toronto", "Raptors", "East", "Atlantic"),
    Team(1610612762, "UTA", "Utah", "Jazz", "West", "Northwest"),
    Team(1610612763, "MEM", "Memphis", "Grizzlies", "West", "Southwest"),
    Team(1610612764, "WAS", "Washington", "Wizards", "East", "Southeast"),
    Team(1610612765, "DET", "Detroit", "Pistons", "East", "Central"),
    Team(1610612766, "CHA", "Charlotte", "Hornets", "East", "Southeast"),
)

_BY_ABBR = {team.abbr: team for team in TEAMS}
_BY_ID = {team.team_id: team for team in TEAMS}
_BY_NICKNAME = {team.nickname: team for team in TEAMS}
_BY_FULL_NAME = {team.full_name: team for team in TEAMS} | {"LA Clippers": _BY_ABBR["LAC"]}


def by_abbr(abbr: str) -> Team:
    return _lookup(_BY_ABBR, abbr, "abbreviation")


def by_id(team_id: int) -> Team:
    return _lookup(_BY_ID, team_id, "team id")


def by_nickname(nickname: str) -> Team:
    return _lookup(_BY_NICKNAME, nickname, "nickname")


def by_full_name(full_name: str) -> Team:
    return _lookup(_BY_FULL_NAME, full_name, "full name")


def _lookup(table: dict, key, what: str) -> Team:
    try:
        return table[key]
    except KeyError:
        raise KeyError(f"no NBA team with {what} {key!r}") from None
