"""What providers serve, one versioned model per endpoint (the scrapers' contract with Phase 2).

Shaped after NBA.com / odds-feed payloads: box scores carry player *names* without ids (the
resolution step in Phase 2 attaches NBA person ids), team rows carry ids and game ids.
"""
from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeFloat, NonNegativeInt


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    PAYLOAD_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    source: str = Field(description="synthetic or replay:<path>")
    as_of: date


class ScheduledGame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    game_id: str = Field(min_length=1)
    game_date: date
    start_time_utc: AwareDatetime | None = None
    home_team_id: int
    home_team_abbr: str = Field(min_length=2, max_length=4)
    away_team_id: int
    away_team_abbr: str = Field(min_length=2, max_length=4)
    season_type: Literal["regular", "cup_final", "playoffs", "play_in", "preseason", "all_star"] = "regular"


class Schedule(Payload):
    """GET /schedule?date=D — the games on D."""
    PAYLOAD_TYPE = "schedule"
    games: tuple[ScheduledGame, ...]


class PlayerBoxScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    game_date: date
    player_name: str = Field(min_length=1, description="as the provider spells it: no id")
    team_abbr: str
    opponent_abbr: str
    is_home: bool
    won: bool
    minutes: NonNegativeFloat
    points: NonNegativeInt
    rebounds: NonNegativeInt
    assists: NonNegativeInt
    steals: NonNegativeInt
    blocks: NonNegativeInt
    turnovers: NonNegativeInt
    fgm: NonNegativeInt
    fga: NonNegativeInt
    fg3m: NonNegativeInt
    fg3a: NonNegativeInt
    ftm: NonNegativeInt
    fta: NonNegativeInt


class PlayerBoxScores(Payload):
    """GET /boxscores/players?date=D — every player who played on D."""
    PAYLOAD_TYPE = "player_boxscores"
    rows: tuple[PlayerBoxScore, ...]


class TeamBoxScore(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    game_id: str
    game_date: date
    team_id: int
    team_abbr: str
    opponent_abbr: str
    is_home: bool
    won: bool
    minutes: NonNegativeInt
    points: NonNegativeInt
    fgm: NonNegativeInt
    fga: NonNegativeInt
    fg3m: NonNegativeInt
    fg3a: NonNegativeInt
    ftm: NonNegativeInt
    fta: NonNegativeInt
    oreb: NonNegativeInt
    dreb: NonNegativeInt
    reb: NonNegativeInt
    ast: NonNegativeInt
    stl: NonNegativeInt
    blk: NonNegativeInt
    tov: NonNegativeInt
    pf: NonNegativeInt
    plus_minus: float


class TeamBoxScores(Payload):
    """GET /boxscores/teams?date=D — one row per team per game on D."""
    PAYLOAD_TYPE = "team_boxscores"
    rows: tuple[TeamBoxScore, ...]


class RegisteredPlayer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    person_id: int = Field(gt=0)
    full_name: str
    first_name: str = ""
    last_name: str = ""
    is_active: bool
    team_abbr: str | None = Field(default=None, description="team as of the registry date, when known")


class PlayerRegistry(Payload):
    """GET /players?date=D — every person with their NBA.com id (and current team when known)."""
    PAYLOAD_TYPE = "player_registry"
    players: tuple[RegisteredPlayer, ...]


class PropLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    player_name: str
    game: str = Field(description='"Away Team Name @ Home Team Name"')
    game_time_utc: AwareDatetime
    market: Literal["player_threes", "player_points", "player_rebounds", "player_assists"]
    line: float
    bookmaker: str
    over_odds: int
    under_odds: int


class PropLines(Payload):
    """GET /props?date=D — player prop lines offered for games on D."""
    PAYLOAD_TYPE = "prop_lines"
    rows: tuple[PropLine, ...]


InjuryStatus = Literal["out", "doubtful", "questionable", "probable"]


class ReportedPlayer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    person_id: int = Field(gt=0, description="NBA.com person id (the league's report names its players by id)")
    player_name: str = Field(min_length=1)
    team_abbr: str = Field(min_length=2, max_length=4)
    status: InjuryStatus
    reason: str = ""


class InjuryReport(Payload):
    """GET /injuries?date=D — the league's injury report for D's games, as published before
    tip-off: every listed player of a team playing on D, with his status. Unlisted players are
    available. Phase 3 and 4 do not expect a player listed "out" to play on D."""
    PAYLOAD_TYPE = "injury_report"
    players: tuple[ReportedPlayer, ...]


PAYLOADS: dict[str, type[Payload]] = {p.PAYLOAD_TYPE: p for p in
                                      (Schedule, PlayerBoxScores, TeamBoxScores, PlayerRegistry, PropLines,
                                       InjuryReport)}
SCRAPERS: tuple[str, ...] = tuple(PAYLOADS)  # one scraper per payload type, named after it
