"""Validate a fetched snapshot into the writes it asks for, row by row.

A payload whose shape is wrong (not an object, another tournament, no lists) is refused whole
(`InvalidSnapshot`); within a good payload each bad row is rejected with its reason (pydantic's
field errors, an unknown round or match, a duplicate, a result going backwards) and the others
are kept. Nothing here writes.

fixtures: the tournament, its rounds, each match's fixture fields (a new match is `scheduled`;
          an existing one keeps its status and result);
results:  each known match's status, score and status timestamp (scheduled -> open -> ended,
          never back; an ended match may be corrected).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, ValidationError, model_validator

from shared.ports.documents import DocumentStore
from shared.tournaments.model import Id, Match, MatchStatus, Round, ScoringRules, Tournament
from shared.tournaments.store import match_path, round_path, tournament_path

Operation = Literal["fixtures", "results"]
OPERATIONS: tuple[str, ...] = ("fixtures", "results")
STATUS_ORDER = {"scheduled": 0, "open": 1, "ended": 2}


class InvalidSnapshot(ValueError):
    """The provider's payload cannot be ingested at all (its shape, or another tournament)."""


class _Provided(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # a provider may add fields


class TournamentRow(_Provided):
    tournament_id: str = Id
    name: str = Field(min_length=1, max_length=200)
    rules: ScoringRules = ScoringRules()


class RoundRow(_Provided):
    round_id: str = Id
    number: NonNegativeInt
    bonus: bool = False


class FixtureRow(_Provided):
    match_id: str = Id
    round_id: str = Id
    home: str = Field(min_length=1, max_length=200)
    away: str = Field(min_length=1, max_length=200)
    kickoff: AwareDatetime

    @model_validator(mode="after")
    def _two_teams(self) -> "FixtureRow":
        if self.home == self.away:
            raise ValueError(f"home and away are the same team ({self.home})")
        return self


class ResultRow(_Provided):
    match_id: str = Id
    status: MatchStatus
    home_goals: NonNegativeInt | None = None
    away_goals: NonNegativeInt | None = None
    status_timestamp: AwareDatetime | None = None

    @model_validator(mode="after")
    def _score_fits_status(self) -> "ResultRow":
        scored = self.home_goals is not None and self.away_goals is not None
        if self.status == "ended" and not (scored and self.status_timestamp):
            raise ValueError("an ended match needs home_goals, away_goals and status_timestamp")
        if self.status == "scheduled" and (self.home_goals is not None or self.away_goals is not None):
            raise ValueError("a scheduled match has no score")
        return self


@dataclass(frozen=True)
class Rejection:
    kind: str  # tournament | round | match | result
    row_id: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "id": self.row_id, "reason": self.reason}


@dataclass(frozen=True)
class Write:
    """Create `create` at `path` if missing; else make `patch`'s fields so."""
    kind: str
    row_id: str
    path: str
    create: dict[str, Any]
    patch: dict[str, Any]
    ends_match: bool = False  # a result row that ends its match (its settlement follows)


@dataclass
class Plan:
    writes: list[Write] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def plan_snapshot(operation: str, tournament_id: str, payload: Any, documents: DocumentStore) -> Plan:
    if not isinstance(payload, dict):
        raise InvalidSnapshot(f"the provider sent {type(payload).__name__}, not a JSON object")
    if operation == "fixtures":
        return _plan_fixtures(tournament_id, payload, documents)
    if operation == "results":
        return _plan_results(tournament_id, payload, documents)
    raise InvalidSnapshot(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")


def _plan_fixtures(tournament_id: str, payload: dict, documents: DocumentStore) -> Plan:
    plan = Plan()
    rounds_raw, matches_raw = _lists(payload, "rounds", "matches")
    tournament = _parse(TournamentRow, payload.get("tournament"), "tournament", plan)
    if tournament is None:
        raise InvalidSnapshot(f"the tournament row is invalid: {plan.rejected[-1].reason}")
    if tournament.tournament_id != tournament_id:
        raise InvalidSnapshot(f"asked for tournament {tournament_id!r}, the provider sent "
                              f"{tournament.tournament_id!r}")
    row = Tournament(tournament_id=tournament_id, name=tournament.name, rules=tournament.rules).to_document()
    plan.writes.append(Write("tournament", tournament_id, tournament_path(tournament_id),
                             {**row, "standings_version": 0}, row))
    known_rounds = set()
    for raw in rounds_raw:
        parsed = _parse(RoundRow, raw, "round", plan)
        if parsed is None or _duplicate(parsed.round_id, known_rounds, "round", plan):
            continue
        row = Round(tournament_id=tournament_id, **parsed.model_dump()).to_document()
        plan.writes.append(Write("round", parsed.round_id, round_path(tournament_id, parsed.round_id), row, row))
    seen: set[str] = set()
    for raw in matches_raw:
        parsed = _parse(FixtureRow, raw, "match", plan)
        if parsed is None or _duplicate(parsed.match_id, seen, "match", plan):
            continue
        if parsed.round_id not in known_rounds and documents.get(round_path(tournament_id, parsed.round_id)) is None:
            plan.rejected.append(Rejection("match", parsed.match_id, f"round {parsed.round_id!r} is not in this "
                                                                     f"snapshot nor in the tournament"))
            continue
        fixture = parsed.model_dump()
        plan.writes.append(Write("match", parsed.match_id, match_path(tournament_id, parsed.match_id),
                                 Match(tournament_id=tournament_id, **fixture).to_document(), fixture))
    return plan


def _plan_results(tournament_id: str, payload: dict, documents: DocumentStore) -> Plan:
    if payload.get("tournament_id") != tournament_id:
        raise InvalidSnapshot(f"asked for the results of {tournament_id!r}, the provider sent "
                              f"{payload.get('tournament_id')!r}")
    plan = Plan()
    (matches_raw,) = _lists(payload, "matches")
    seen: set[str] = set()
    for raw in matches_raw:
        parsed = _parse(ResultRow, raw, "result", plan)
        if parsed is None or _duplicate(parsed.match_id, seen, "result", plan):
            continue
        stored = documents.get(match_path(tournament_id, parsed.match_id))
        if stored is None:
            plan.rejected.append(Rejection("result", parsed.match_id, "no such match in the tournament: "
                                                                       "ingest its fixtures first"))
            continue
        current = stored.data.get("status", "scheduled")
        if STATUS_ORDER[parsed.status] < STATUS_ORDER.get(current, 0):
            plan.rejected.append(Rejection("result", parsed.match_id, f"stale: the match is {current}, the row says "
                                                                       f"{parsed.status} (a status never goes back)"))
            continue
        result = parsed.model_dump()
        plan.writes.append(Write("result", parsed.match_id, match_path(tournament_id, parsed.match_id), {}, result,
                                 ends_match=parsed.status == "ended"))
    return plan


def _lists(payload: dict, *names: str) -> tuple[list, ...]:
    for name in names:
        if not isinstance(payload.get(name), list):
            raise InvalidSnapshot(f"the provider's payload has no list {name!r}")
    return tuple(payload[name] for name in names)


def _parse(model: type[BaseModel], raw: Any, kind: str, plan: Plan) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        row_id = str(raw.get(f"{kind if kind != 'result' else 'match'}_id", "?")) if isinstance(raw, dict) else "?"
        reasons = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in error.errors())
        plan.rejected.append(Rejection(kind, row_id, reasons))
        return None


def _duplicate(row_id: str, seen: set[str], kind: str, plan: Plan) -> bool:
    if row_id in seen:
        plan.rejected.append(Rejection(kind, row_id, f"{kind} {row_id} appears twice in the snapshot; "
                                                     f"the first row counts"))
        return True
    seen.add(row_id)
    return False
