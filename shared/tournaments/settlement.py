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
from shared.tournaments.model import Match, ScoringRules, Standing
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
    exact: int  # exact scores added (a correction may take one back: -1)
    guesses: int = 1  # settled guesses added (a correction adds none)


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
    """`match_id` names the effect: the match's settlement, or `{match}__c{hash}` for a correction."""
    return f"{tournament_path(tournament_id)}/settlement_batches/{match_id}__{number:05d}"


def settled_effect(match: Match, rules: ScoringRules, bonus: bool) -> dict[str, Any]:
    """What a settlement's points were computed from; pinned on the match with its key, so a
    correction can take exactly these points back."""
    return {"result": [match.home_goals, match.away_goals], "rules": rules.model_dump(), "bonus": bonus}


class Settlement:
    def __init__(self, documents: DocumentStore, *, batch_members: int = BATCH_MEMBERS):
        if not 1 <= batch_members <= BATCH_MEMBERS:
            raise ValueError(f"batch_members must be between 1 and {BATCH_MEMBERS} (500 writes per transaction)")
        self._documents = documents
        self._store = TournamentStore(documents)
        self._ledger = IdempotencyLedger(documents)
        self._leaderboards = Leaderboards(documents)
        self._batch_members = batch_members

    def deltas(self, match: Match, effect: dict[str, Any] | None = None) -> list[Delta]:
        """One delta per member who guessed, sorted by member id, for the match's result (or the
        result and rules of `effect`, a settled_effect)."""
        effect = effect or self.effect_of(match)
        rules, result = ScoringRules.model_validate(effect["rules"]), tuple(effect["result"])
        deltas = []
        for member_id, counting in self._store.counting_guesses(match):
            award = score_guess(rules, counting, result, bonus=effect["bonus"])
            deltas.append(Delta(member_id, award.points, int(award.exact)))
        return sorted(deltas, key=lambda d: d.member_id)

    def effect_of(self, match: Match) -> dict[str, Any]:
        rules = self._store.tournament(match.tournament_id).rules
        return settled_effect(match, rules, self._store.round(match.tournament_id, match.round_id).bonus)

    def settle(self, tournament_id: str, match_id: str, status_timestamp: datetime | str, *,
               execution_id: str) -> SettlementResult:
        match = self._store.match(tournament_id, match_id)
        if match.status != "ended":
            raise MatchNotEnded(f"match {match_id} is {match.status}, not ended: nothing to settle")
        key = settlement_key(match_id, status_timestamp)
        effect = self.effect_of(match)
        outcome_key, correction_of_key = self._pin_key(tournament_id, match_id, key, effect)
        if correction_of_key:  # a re-settlement applied (or applies) this event's correction
            return self._report_corrected(key, execution_id)
        deltas = self.deltas(match, effect)
        # exact as a bool: the checksums of outcomes recorded before corrections existed still match
        checksum = checksum_of({"tournament": tournament_id, "match": match_id, "result": effect["result"],
                                "rules": effect["rules"],
                                "deltas": [[d.member_id, d.points, bool(d.exact)] for d in deltas]})
        claim = self._ledger.claim(outcome_key, checksum, execution_id, detail={"event_key": key})
        result = SettlementResult(key=key, outcome_key=outcome_key, decision=claim.decision, checksum=checksum,
                                  execution_id=execution_id, original_execution_id=claim.outcome.execution_id,
                                  members=len(deltas))
        if not claim.should_apply:
            self.report_replay(claim, result)
            return result
        self.apply(tournament_id, match_id, match_id, deltas, result)
        self.finish(tournament_id, match_id, result, deltas)
        log.info("settlement applied", extra={"fields": {"settlement_key": key, "match_id": match_id,
                                                         "members": len(deltas),
                                                         "batches_applied": result.batches_applied,
                                                         "batches_skipped": result.batches_skipped}})
        return result

    def finish(self, tournament_id: str, match_id: str, result: SettlementResult, deltas: list[Delta],
               **summary: Any) -> None:
        """Every batch is in: refresh the boards, then close the outcome (the crash points between)."""
        crash_points.crash_point(crash_points.SETTLEMENT_POINTS_WRITTEN, target=match_id)
        result.boards = [built["board"] for built in self._leaderboards.rebuild_all(tournament_id)]
        crash_points.crash_point(crash_points.SETTLEMENT_PROJECTED, target=match_id)
        self._ledger.mark_applied(result.outcome_key, {"members": len(deltas), "batches": self._batches(deltas),
                                                       **summary})

    def _pin_key(self, tournament_id: str, match_id: str, key: str, effect: dict[str, Any]) -> tuple[str, str | None]:
        """(the match's first settlement key, which every later event of the match meets; the key a
        correction under this event's key replaced, if one did or is doing so)."""
        path = match_path(tournament_id, match_id)

        def pin(tx: Transaction) -> tuple[str, str | None]:
            document = tx.get(path)
            data = document.data if document else {}
            correction = data.get("correction") or {}
            if correction.get("key") == key:
                return key, correction["from_key"]
            if data.get("settlement_key"):
                pinned_effect = data.get("settled_effect") or {}
                corrected = data["settlement_key"] == key and pinned_effect.get("correction_of")
                return data["settlement_key"], corrected or None
            tx.update(path, {"settlement_key": key, "settled_effect": effect})
            return key, None
        return self._documents.run_transaction(pin)

    def _report_corrected(self, key: str, execution_id: str) -> SettlementResult:
        """A settlement event whose key a re-settlement took: its points moved by the correction."""
        outcome = self._ledger.get(key)
        log.info("settlement replay is a no-op", extra={"fields": {"settlement_key": key, "corrected": True}})
        return SettlementResult(key=key, outcome_key=key, decision="duplicate" if outcome else "corrected",
                                checksum=outcome.checksum if outcome else "", execution_id=execution_id,
                                original_execution_id=outcome.execution_id if outcome else "", members=0)

    def _batches(self, deltas: list[Delta]) -> int:
        return (len(deltas) + self._batch_members - 1) // self._batch_members

    def apply(self, tournament_id: str, match_id: str, effect_name: str, deltas: list[Delta],
              result: SettlementResult) -> None:
        """The deltas in batches, each once (its marker, named by the effect, in its transaction)."""
        for number in range(self._batches(deltas)):
            batch = deltas[number * self._batch_members:(number + 1) * self._batch_members]
            if self._apply_batch(tournament_id, effect_name, number, batch, result.outcome_key):
                result.batches_applied += 1
            else:
                result.batches_skipped += 1
            crash_points.crash_point(crash_points.SETTLEMENT_BATCH_APPLIED, target=f"{match_id}:{number}")

    def _apply_batch(self, tournament_id: str, effect_name: str, number: int, batch: list[Delta],
                     outcome_key: str) -> bool:
        marker = batch_marker_path(tournament_id, effect_name, number)

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

    def report_replay(self, claim: Claim, result: SettlementResult) -> None:
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
            "settled_guesses": standing["settled_guesses"] + delta.guesses}
