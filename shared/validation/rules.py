"""Promotions as data: a versioned, declarative rule format checked by its schema.

    {"id": "lad-home-win", "version": 1, "team": "LAN", "venue": "home",
     "title": "Dodgers win at home: $6 Panda Express plate", "sponsor": "Panda Express",
     "conditions": [{"type": "win"}, {"type": "runs_at_least", "runs": 6}]}

Every condition must hold (AND). Condition types: `win`, `runs_at_least` (runs), `runs_in_inning`
(runs, optional inning: any inning when absent), `shutout` (the team wins and allows no run),
`strikeouts_at_least` (the team's pitchers strike out at least `strikeouts` batters), `walk_off`.
A rule that breaks the schema is refused with `InvalidPromotion` naming the field
(`promotions[3].conditions[0].runs: ...`). A change to a rule's meaning needs a new `version`:
decisions are idempotent per (game, game version, promotion, rule version).
"""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from shared.validation.games import GameFacts
from shared.validation.teams import RETRO_CODES

RULE_FORMAT_VERSION = 1


class InvalidPromotion(ValueError):
    """A promotion rule that breaks the schema; the message names the field."""


class _Condition(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Win(_Condition):
    type: Literal["win"]

    def holds(self, game: GameFacts, side: str) -> bool:
        return game.runs(side) > game.runs(_other(side))


class RunsAtLeast(_Condition):
    type: Literal["runs_at_least"]
    runs: int = Field(ge=1, le=40)

    def holds(self, game: GameFacts, side: str) -> bool:
        return game.runs(side) >= self.runs


class RunsInInning(_Condition):
    type: Literal["runs_in_inning"]
    runs: int = Field(ge=1, le=30)
    inning: int | None = Field(default=None, ge=1, le=30, description="None: any inning")

    def holds(self, game: GameFacts, side: str) -> bool:
        innings = game.innings(side)
        if self.inning is None:
            return any((r or 0) >= self.runs for r in innings)
        return len(innings) >= self.inning and (innings[self.inning - 1] or 0) >= self.runs


class Shutout(_Condition):
    type: Literal["shutout"]

    def holds(self, game: GameFacts, side: str) -> bool:
        return game.runs(_other(side)) == 0 and game.runs(side) > 0


class StrikeoutsAtLeast(_Condition):
    type: Literal["strikeouts_at_least"]
    strikeouts: int = Field(ge=1, le=40)

    def holds(self, game: GameFacts, side: str) -> bool:
        return game.pitching_strikeouts(side) >= self.strikeouts


class WalkOff(_Condition):
    type: Literal["walk_off"]

    def holds(self, game: GameFacts, side: str) -> bool:
        return side == "home" and game.walk_off


Condition = Annotated[Union[Win, RunsAtLeast, RunsInInning, Shutout, StrikeoutsAtLeast, WalkOff],
                      Field(discriminator="type")]


class Promotion(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{2,63}$")
    version: int = Field(ge=1)
    team: str
    venue: Literal["home", "away", "any"]
    title: str = Field(min_length=3, max_length=200)
    sponsor: str = Field(min_length=1, max_length=100)
    conditions: tuple[Condition, ...] = Field(min_length=1, max_length=8)
    active_from: date | None = None
    active_until: date | None = None

    @field_validator("team")
    @classmethod
    def _known_team(cls, team: str) -> str:
        if team not in RETRO_CODES:
            raise ValueError(f"unknown team {team!r}: use a Retrosheet code such as LAN, NYA, SDN")
        return team

    def applies_to(self, home: str, away: str, day: date) -> bool:
        if (self.active_from and day < self.active_from) or (self.active_until and day > self.active_until):
            return False
        return (self.venue in ("home", "any") and self.team == home) or \
               (self.venue in ("away", "any") and self.team == away)

    def is_met(self, game: GameFacts) -> bool:
        side = game.side_of(self.team)
        if side is None:
            raise ValueError(f"{self.id} is for {self.team}, not in game {game.game_id}")
        return all(condition.holds(game, side) for condition in self.conditions)

    def fingerprint(self) -> str:
        """SHA-256 of the rule's canonical JSON: the evidence names exactly the rule applied."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class Catalogue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    format_version: Literal[1]
    season: int = Field(ge=1900, le=2100)
    promotions: tuple[Promotion, ...]

    @field_validator("promotions")
    @classmethod
    def _unique_ids(cls, promotions: tuple[Promotion, ...]) -> tuple[Promotion, ...]:
        seen: set[str] = set()
        for index, promotion in enumerate(promotions):
            if promotion.id in seen:
                raise ValueError(f"promotion id {promotion.id!r} appears twice (again at position {index})")
            seen.add(promotion.id)
        return promotions

    def for_game(self, home: str, away: str, day: date) -> list[Promotion]:
        return [p for p in self.promotions if p.applies_to(home, away, day)]

    def by_id(self, promotion_id: str) -> Promotion:
        for promotion in self.promotions:
            if promotion.id == promotion_id:
                return promotion
        raise KeyError(promotion_id)


_CATALOGUE = TypeAdapter(Catalogue)
_PROMOTION = TypeAdapter(Promotion)


def _other(side: str) -> str:
    return "away" if side == "home" else "home"


_CONDITION_TAGS = frozenset({"win", "runs_at_least", "runs_in_inning", "shutout", "strikeouts_at_least", "walk_off"})


def _named_error(error: ValidationError, root: str) -> InvalidPromotion:
    """The first problem, as `promotions[3].conditions[0].runs: <why>` (union tags left out)."""
    problem = error.errors(include_url=False)[0]
    path = root
    for part in problem["loc"]:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in _CONDITION_TAGS:
            path += f".{part}"
    return InvalidPromotion(f"{path.lstrip('.')}: {problem['msg']}")


def parse_catalogue(data: object) -> Catalogue:
    try:
        return _CATALOGUE.validate_python(data)
    except ValidationError as error:
        raise _named_error(error, "") from None


def parse_promotion(data: object) -> Promotion:
    try:
        return _PROMOTION.validate_python(data)
    except ValidationError as error:
        raise _named_error(error, "promotion") from None
