"""`GameFacts`: one source's account of a finished game, in the source-neutral form rules read.

Innings are runs per inning; `None` is an inning the team did not bat (the home team leading
after the top of the last inning). A walk-off is a home win in which the home team batted in
the last inning: it only bats there when not ahead, so its winning run ended the game.
"""
from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class GameFacts(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    game_id: str = Field(pattern=r"^[A-Z]{3}\d{9}$", description="Retrosheet style: home code, yyyymmdd, game number")
    game_date: date
    home: str
    away: str
    home_runs: int = Field(ge=0)
    away_runs: int = Field(ge=0)
    home_innings: tuple[int | None, ...]
    away_innings: tuple[int | None, ...]
    home_pitching_strikeouts: int = Field(ge=0, description="batters the home team's pitchers struck out")
    away_pitching_strikeouts: int = Field(ge=0)
    final: bool = True

    def side_of(self, team: str) -> str | None:
        return "home" if team == self.home else "away" if team == self.away else None

    def runs(self, side: str) -> int:
        return self.home_runs if side == "home" else self.away_runs

    def innings(self, side: str) -> tuple[int | None, ...]:
        return self.home_innings if side == "home" else self.away_innings

    def pitching_strikeouts(self, side: str) -> int:
        return self.home_pitching_strikeouts if side == "home" else self.away_pitching_strikeouts

    @property
    def consistent(self) -> bool:
        """The line score adds up to the final score and both sides have the same innings (else an
        inning is missing or the score is wrong inside the payload itself)."""
        return (len(self.home_innings) == len(self.away_innings) and len(self.away_innings) >= 5
                and sum(r or 0 for r in self.home_innings) == self.home_runs
                and sum(r or 0 for r in self.away_innings) == self.away_runs
                and None not in self.away_innings)

    @property
    def walk_off(self) -> bool:
        return self.home_runs > self.away_runs and bool(self.home_innings) and self.home_innings[-1] is not None


def game_id(home: str, day: date, game_number: int) -> str:
    return f"{home}{day:%Y%m%d}{game_number}"
