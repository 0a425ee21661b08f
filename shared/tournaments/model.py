"""Rows of the tournament domain: versioned pydantic models, stored as documents.

tournaments/{t}                      Tournament (+ standings_version, bumped by each settled batch)
tournaments/{t}/rounds/{r}           Round (a bonus round multiplies its matches' points)
tournaments/{t}/matches/{m}          Match (open -> ended; the result and its status timestamp)
tournaments/{t}/standings/{member}   Standing: the member's points, the source of truth of every board
tournaments/{t}/matches/{m}/guesses/{member} Guess: the member's revisions; the last before kickoff counts
leagues/{l}                          League (a subset of a tournament's members)
leagues/{l}/members/{member}
"""
from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt

Id = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
MatchStatus = Literal["scheduled", "open", "ended"]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    SCHEMA_VERSION: ClassVar[int] = 1

    def to_document(self) -> dict:
        return {**self.model_dump(mode="python"), "schema_version": self.SCHEMA_VERSION}

    @classmethod
    def from_document(cls, data: dict):
        return cls.model_validate({k: v for k, v in data.items() if k in cls.model_fields})


class ScoringRules(Row):
    """Points per guess, configurable per tournament. The best matching rule counts, once:
    exact score, else the right goal difference (and winner), else the right outcome."""
    exact_score: NonNegativeInt = 5
    goal_difference: NonNegativeInt = 3
    outcome: NonNegativeInt = 2
    bonus_multiplier: NonNegativeInt = Field(default=2, description="applied to matches of a bonus round")


class Tournament(Row):
    tournament_id: str = Id
    name: str = Field(min_length=1, max_length=200)
    rules: ScoringRules = ScoringRules()


class Round(Row):
    tournament_id: str = Id
    round_id: str = Id
    number: NonNegativeInt
    bonus: bool = False


class Match(Row):
    tournament_id: str = Id
    match_id: str = Id
    round_id: str = Id
    home: str = Field(min_length=1)
    away: str = Field(min_length=1)
    kickoff: AwareDatetime
    status: MatchStatus = "scheduled"
    home_goals: NonNegativeInt | None = None
    away_goals: NonNegativeInt | None = None
    status_timestamp: AwareDatetime | None = Field(default=None, description="when the status last changed")


class GuessRevision(Row):
    home_goals: NonNegativeInt
    away_goals: NonNegativeInt
    submitted_at: AwareDatetime


class Guess(Row):
    tournament_id: str = Id
    match_id: str = Id
    member_id: str = Id
    revisions: list[GuessRevision] = Field(min_length=1)

    def counting(self, kickoff: datetime) -> GuessRevision | None:
        """The last revision submitted before kickoff (later ones never count)."""
        before = [r for r in self.revisions if r.submitted_at < kickoff]
        return max(before, key=lambda r: r.submitted_at) if before else None


class Standing(Row):
    tournament_id: str = Id
    member_id: str = Id
    points: int = 0
    exact_scores: NonNegativeInt = 0
    settled_guesses: NonNegativeInt = 0


class League(Row):
    league_id: str = Id
    tournament_id: str = Id
    name: str = Field(min_length=1, max_length=200)
