"""Fixtures and results of football tournaments: the sources behind the fixtures provider.

A source knows a tournament's whole season as the provider would finally tell it —
`season(tournament_id) -> dict` with `tournament`, `rounds` and `matches` (kickoff, status,
score, status timestamp) as plain JSON values, *not* validated: a replay file may hold bad rows,
and the ingestion worker is the one that validates (`shared.ingestion.rows`). What the provider
serves at a moment is `fixtures_of` / `results_of(season, as_of)`.

- `SyntheticFixturesSource(seed)`: a seeded season for any tournament id;
- `ReplayFixturesSource(path)`: a JSON file, one season object or `{"tournaments": [season, ...]}`.

`open_fixtures_source("synthetic" | "synthetic:SEED" | "replay:FILE")` builds one from the
`--source` spelling.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

FIXTURE_FIELDS = ("match_id", "round_id", "home", "away", "kickoff")
RESULT_FIELDS = ("match_id", "status", "home_goals", "away_goals", "status_timestamp")
MATCH_MINUTES = 115  # kickoff to the final whistle, half time and added time included


class UnknownTournament(LookupError):
    pass


class FixturesSource(Protocol):
    label: str

    def season(self, tournament_id: str) -> dict[str, Any]: ...


def fixtures_of(season: dict[str, Any]) -> dict[str, Any]:
    """The fixtures payload: the tournament, its rounds, each match's fixture fields."""
    return {"tournament": season.get("tournament"), "rounds": season.get("rounds"),
            "matches": [_pick(m, FIXTURE_FIELDS) for m in _list(season.get("matches"))]}


def results_of(season: dict[str, Any], tournament_id: str, as_of: datetime | None = None) -> dict[str, Any]:
    """The results payload: each match's status and score, as the provider knew them at `as_of`
    (None: the season as recorded). A match that ended after `as_of` is open or scheduled then."""
    matches = [_as_of(_pick(m, RESULT_FIELDS), m.get("kickoff") if isinstance(m, dict) else None, as_of)
               for m in _list(season.get("matches"))]
    return {"tournament_id": tournament_id, "as_of": as_of.isoformat() if as_of else None, "matches": matches}


class SyntheticFixturesSource:
    """A seeded league season: `rounds` rounds of `matches_per_round` matches a week apart, the
    last round a bonus round; every match ends MATCH_MINUTES after kickoff."""

    def __init__(self, seed: int = 0, *, rounds: int = 4, matches_per_round: int = 3,
                 start: datetime = datetime(2025, 8, 16, 14, 0, tzinfo=timezone.utc)) -> None:
        self.seed, self.rounds, self.matches_per_round, self.start = seed, rounds, matches_per_round, start
        self.label = f"synthetic-fixtures:{seed}"

    def season(self, tournament_id: str) -> dict[str, Any]:
        draw = random.Random(f"fixtures-{self.seed}-{tournament_id}")
        teams = [f"Team {n:02d}" for n in range(1, 2 * self.matches_per_round + 1)]
        rounds, matches = [], []
        for number in range(1, self.rounds + 1):
            round_id = f"r{number:02d}"
            rounds.append({"round_id": round_id, "number": number, "bonus": number == self.rounds})
            draw.shuffle(teams)
            for slot in range(self.matches_per_round):
                kickoff = self.start + timedelta(days=7 * (number - 1), hours=2 * slot)
                matches.append({"match_id": f"{round_id}m{slot + 1:02d}", "round_id": round_id,
                                "home": teams[2 * slot], "away": teams[2 * slot + 1], "kickoff": kickoff.isoformat(),
                                "status": "ended", "home_goals": draw.randint(0, 4), "away_goals": draw.randint(0, 3),
                                "status_timestamp": (kickoff + timedelta(minutes=MATCH_MINUTES)).isoformat()})
        return {"tournament": {"tournament_id": tournament_id, "name": f"Synthetic league {tournament_id}"},
                "rounds": rounds, "matches": matches}


class ReplayFixturesSource:
    """Seasons recorded in a JSON file (rows as recorded, bad ones included)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.label = f"replay-fixtures:{self.path}"
        data = json.loads(self.path.read_text())
        seasons = data["tournaments"] if isinstance(data, dict) and "tournaments" in data else [data]
        self._seasons = {str((s.get("tournament") or {}).get("tournament_id")): s for s in seasons}

    def season(self, tournament_id: str) -> dict[str, Any]:
        if tournament_id not in self._seasons:
            raise UnknownTournament(f"{self.path} has no tournament {tournament_id!r}; it has "
                                    f"{', '.join(sorted(self._seasons))}")
        return self._seasons[tournament_id]


def open_fixtures_source(spec: str) -> FixturesSource:
    kind, _, argument = spec.partition(":")
    if kind == "synthetic":
        if argument and not (argument.isascii() and argument.lstrip("-").isdigit()):
            raise ValueError(f"synthetic seed must be an integer: {spec!r}")
        return SyntheticFixturesSource(seed=int(argument or 0))
    if kind == "replay" and argument:
        return ReplayFixturesSource(Path(argument))
    raise ValueError(f"unknown fixtures source {spec!r}: use 'synthetic', 'synthetic:SEED' or 'replay:FILE'")


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _pick(row: Any, fields: tuple[str, ...]) -> Any:
    return {k: row[k] for k in fields if k in row} if isinstance(row, dict) else row


def _as_of(row: Any, kickoff: Any, as_of: datetime | None) -> Any:
    """Total on bad rows: anything that does not parse is served as recorded."""
    if as_of is None or not isinstance(row, dict) or row.get("status") != "ended":
        return row
    ended_at, kicked_off = _parse(row.get("status_timestamp")), _parse(kickoff)
    if ended_at is None or kicked_off is None or ended_at <= as_of:
        return row
    if kicked_off <= as_of:
        return {"match_id": row.get("match_id"), "status": "open", "home_goals": None, "away_goals": None,
                "status_timestamp": kicked_off.isoformat()}
    return {"match_id": row.get("match_id"), "status": "scheduled", "home_goals": None, "away_goals": None,
            "status_timestamp": None}


def _parse(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None
