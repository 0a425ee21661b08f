"""Settlement: when a match ends, each member's points for their guess are applied exactly once.

The effect is computed from the source of truth (the ended match, its round, the tournament's
rules, the guesses) as one delta per member, sorted by member id; its checksum goes to the
idempotency ledger under `settlement:{matchId}:{matchStatusTimestamp}`. The first settlement
key of a match is pinned on the match, so two different events for one match (a corrected
status timestamp) meet on the same outcome: the same effect is a duplicate, a different one is
flagged and not applied (a corrected score needs a re-settlement, not a silent second apply).

Deltas are applied in batches of at most 498 members, each in one transaction with its batch
marker (`tournaments/{t}/settlement_batches/{match}__{n}`) and the tournament's
`standings_version` bump: 500 writes, Firestore's limit. A batch whose marker exists is skipped,
so a replay — repeated, reordered, concurrent, or after a crash half-way — applies nothing
twice; the ledger's `applying` status lets the redelivery finish what a crash left. Only then
are the leaderboards refreshed (the store first, the projection after) and the outcome marked
applied; a crash between the points and the refresh leaves a stale projection that reads
fall back from and `leaderboard rebuild` (or the redelivery) repairs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.executions.ledger import Claim, IdempotencyLedger, checksum_of, settlement_key
from shared.ports.documents import DocumentStore, Transaction
from shared.runtime import crash_points
from shared.tournaments.leaderboard import Leaderboards
from shared.tournaments.model import Match, Standing
from shared.tournaments.scoring import score_guess
from shared.tournaments.store import (
    MAX_WRITES_PER_TRANSACTION,
    TournamentStore,
    match_path,
    standing_path,
    tournament_path,
)

log = logging.getLogger("sportsflow.settlement")

# Each batch also writes its marker and the tournament's standings_version.
BATCH_MEMBERS = MAX_WRITES_PER_TRANSACTION - 2


class MatchNotEnded(ValueError):
    """A settlement of a match that has not ended (a permanent error: dead-letter it)."""


@dataclass(frozen=True)
class Delta:
    member_id: str
    points: int
    exact: bool


@dataclass
class SettlementResult:
    key: str
    outcome_key: str
    decision: str
    checksum: str
    execution_id: str
    original_execution_id: str
    members: int
    batches_applied: int = 0
    batches_skipped: int = 0
    boards: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def batch_marker_path(tournament_id: str, match_id: str, number: int) -> str:
    return f"{tournament_path(tournament_id)}/settlement_batches/{match_id}__{number:05d}"


class Settlement:
    def __init__(self, documents: DocumentStore, *, batch_members: int = BATCH_MEMBERS):
        if not 1 <= batch_members <= BATCH_MEMBERS:
            raise ValueError(f"batch_members must be between 1 and {BATCH_MEMBERS} (500 writes per transaction)")
        self._documents = documents
        self._store = TournamentStore(documents)
        self._ledger = IdempotencyLedger(documents)
        self._leaderboards = Leaderboards(documents)
        self._batch_members = batch_members

    def deltas(self, match: Match) -> list[Delta]:
        tournament = self._store.tournament(match.tournament_id)
        bonus = self._store.round(match.tournament_id, match.round_id).bonus
        result = (match.home_goals, match.away_goals)
        deltas = []
        for member_id, counting in self._store.counting_guesses(match):
            award = score_guess(tournament.rules, counting, result, bonus=bonus)
            deltas.append(Delta(member_id, award.points, award.exact))
        return sorted(deltas, key=lambda d: d.member_id)

    def settle(self, tournament_id: str, match_id: str, status_timestamp: datetime | str, *,
               execution_id: str) -> SettlementResult:
        match = self._store.match(tournament_id, match_id)
        if match.status != "ended":
            raise MatchNotEnded(f"match {match_id} is {match.status}, not ended: nothing to settle")
        key = settlement_key(match_id, status_timestamp)
        outcome_key = self._pin_key(tournament_id, match_id, key)
        deltas = self.deltas(match)
        rules = self._store.tournament(tournament_id).rules
        checksum = checksum_of({"tournament": tournament_id, "match": match_id,
                                "result": [match.home_goals, match.away_goals], "rules": rules.model_dump(),
                                "deltas": [[d.member_id, d.points, d.exact] for d in deltas]})
        claim = self._ledger.claim(outcome_key, checksum, execution_id, detail={"event_key": key})
        result = SettlementResult(key=key, outcome_key=outcome_key, decision=claim.decision, checksum=checksum,
                                  execution_id=execution_id, original_execution_id=claim.outcome.execution_id,
                                  members=len(deltas))
        if not claim.should_apply:
            self._report_replay(claim, result)
            return result
        self._apply(tournament_id, match_id, deltas, result)
        crash_points.crash_point(crash_points.SETTLEMENT_POINTS_WRITTEN, target=match_id)
        result.boards = [built["board"] for built in self._leaderboards.rebuild_all(tournament_id)]
        crash_points.crash_point(crash_points.SETTLEMENT_PROJECTED, target=match_id)
        self._ledger.mark_applied(outcome_key, {"members": len(deltas), "batches": self._batches(deltas)})
        log.info("settlement applied", extra={"fields": {"settlement_key": key, "match_id": match_id,
                                                         "members": len(deltas),
                                                         "batches_applied": result.batches_applied,
                                                         "batches_skipped": result.batches_skipped}})
        return result

    def _pin_key(self, tournament_id: str, match_id: str, key: str) -> str:
        """The match's first settlement key: every later event of the match meets that outcome."""
        path = match_path(tournament_id, match_id)

        def pin(tx: Transaction) -> str:
            document = tx.get(path)
            pinned = document.data.get("settlement_key") if document else None
            if pinned:
                return pinned
            tx.update(path, {"settlement_key": key})
            return key
        return self._documents.run_transaction(pin)

    def _batches(self, deltas: list[Delta]) -> int:
        return (len(deltas) + self._batch_members - 1) // self._batch_members

    def _apply(self, tournament_id: str, match_id: str, deltas: list[Delta], result: SettlementResult) -> None:
        for number in range(self._batches(deltas)):
            batch = deltas[number * self._batch_members:(number + 1) * self._batch_members]
            if self._apply_batch(tournament_id, match_id, number, batch, result.outcome_key):
                result.batches_applied += 1
            else:
                result.batches_skipped += 1
            crash_points.crash_point(crash_points.SETTLEMENT_BATCH_APPLIED, target=f"{match_id}:{number}")

    def _apply_batch(self, tournament_id: str, match_id: str, number: int, batch: list[Delta],
                     outcome_key: str) -> bool:
        marker = batch_marker_path(tournament_id, match_id, number)

        def apply(tx: Transaction) -> bool:
            standing_paths = [standing_path(tournament_id, d.member_id) for d in batch]
            marker_document, tournament, *standings = tx.get_all([marker, tournament_path(tournament_id),
                                                                  *standing_paths])
            if marker_document is not None:
                return False
            for delta, path, current in zip(batch, standing_paths, standings):
                tx.set(path, _added(current.data if current else None, tournament_id, delta))
            tx.create(marker, {"outcome_key": outcome_key, "members": len(batch), "at": self._documents.now()})
            tx.update(tournament_path(tournament_id),
                      {"standings_version": (tournament.data.get("standings_version", 0) if tournament else 0) + 1})
            return True
        return self._documents.run_transaction(apply)

    def _report_replay(self, claim: Claim, result: SettlementResult) -> None:
        fields = {"settlement_key": result.key, "outcome_key": result.outcome_key,
                  "original_execution_id": claim.outcome.execution_id,
                  "first_applied_at": claim.outcome.first_applied_at.isoformat()}
        if claim.decision == "mismatch":
            log.warning("settlement effect checksum mismatch", extra={"fields": {
                **fields, "expected_checksum": claim.outcome.checksum, "checksum": result.checksum}})
        else:
            log.info("settlement replay is a no-op", extra={"fields": fields})


def _added(stored: dict | None, tournament_id: str, delta: Delta) -> dict:
    """The member's standing with the delta added (one read, one write: no model per member)."""
    standing = stored or Standing(tournament_id=tournament_id, member_id=delta.member_id).to_document()
    return {**standing, "points": standing["points"] + delta.points,
            "exact_scores": standing["exact_scores"] + delta.exact,
            "settled_guesses": standing["settled_guesses"] + 1}
