"""Messages of outcome validation (SPEC §2): a game became final, a promotion was decided."""
from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeFloat, PositiveInt

from shared.contracts.envelope import Message

GameId = Field(pattern=r"^[A-Z]{3}\d{9}$")


class SourceObservation(BaseModel):
    """One source's raw entry for the game, stored as evidence by the monitor before it announced the game."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str = Field(min_length=1, max_length=32)
    evidence_key: str | None = Field(default=None, max_length=1024)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    latency_ms: NonNegativeFloat = 0.0
    problem: str | None = Field(default=None, max_length=500, description="why there is no entry (outage, ...)")


class GameFinal(Message):
    """game-final: a game is final (version 1), or a source corrected it (version 2, 3, ...)."""
    MESSAGE_TYPE = "GameFinal"
    game_id: str = GameId
    game_date: date
    game_version: PositiveInt
    home: str = Field(pattern=r"^[A-Z]{3}$")
    away: str = Field(pattern=r"^[A-Z]{3}$")
    observed_at: AwareDatetime
    sources: tuple[SourceObservation, ...] = Field(min_length=1)
    synthetic: bool = False


class ValidationDecided(Message):
    """validation-decided: one promotion of one game version was decided (or sent to review)."""
    MESSAGE_TYPE = "ValidationDecided"
    decision_key: str = Field(min_length=1, max_length=300)
    game_id: str = GameId
    game_version: PositiveInt
    promotion_id: str = Field(min_length=1, max_length=64)
    rule_version: PositiveInt
    outcome: Literal["met", "not_met", "review"]
    confidence: float = Field(ge=0, le=1)
    evidence_key: str = Field(min_length=1, max_length=1024)
    log_index: int = Field(ge=0)
    synthetic: bool = False
