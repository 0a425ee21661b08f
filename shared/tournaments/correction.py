"""Re-settlement of a corrected score: the points move by the difference, exactly once.

A correction is a new status timestamp on the ended match (`record_result` with the corrected
score), so it has its own ledger key `settlement:{matchId}:{newTimestamp}`. Plain settlement
flags such an event (`settlement effect checksum mismatch`) and applies nothing; an admin's
re-settle command runs this instead:

1. One transaction on the match takes the correction: `correction = {key, from_key,
   from_effect}` (the pinned key and the effect its points were computed from). A different
   correction under way makes this one wait (a transient error: redelivered later), so two
   corrections are never computed from the same old points.
2. Each member's delta is (points under the new result) - (points under the pinned effect); the
   ledger claims the new key with the checksum of those deltas, and they are applied in batches
   with their own markers (`{match}__c{hash}__{n}`), so a replay or a crash half-way applies
   each batch once.
3. One transaction moves the pin to the new key and effect and clears the correction; then the
   boards are refreshed and the outcome marked applied (the same crash points as a settlement).
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import Any

from shared.executions.ledger import APPLIED, IdempotencyLedger, checksum_of, settlement_key
from shared.ports.documents import DocumentStore, Transaction
from shared.runtime.errors import TransientError
from shared.tournaments.settlement import Delta, MatchNotEnded, Settlement, SettlementResult
from shared.tournaments.store import TournamentStore, match_path

log = logging.getLogger("sportsflow.settlement")


class CorrectionRefused(ValueError):
    """A re-settlement that can never apply (a permanent error: dead-letter it)."""


def correction_effect_name(match_id: str, key: str) -> str:
    return f"{match_id}__c{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def correction_deltas(old: list[Delta], new: list[Delta]) -> list[Delta]:
    """Per member, new - old (members whose points do not move are left out)."""
    before = {d.member_id: d for d in old}
    after = {d.member_id: d for d in new}
    moved = []
    for member_id in sorted(before.keys() | after.keys()):
        b, a = before.get(member_id), after.get(member_id)
        points = (a.points if a else 0) - (b.points if b else 0)
        exact = (a.exact if a else 0) - (b.exact if b else 0)
        if points or exact:
            moved.append(Delta(member_id, points, exact, guesses=0))
    return moved


class Resettlement:
    def __init__(self, documents: DocumentStore):
        self._documents = documents
        self._store = TournamentStore(documents)
        self._ledger = IdempotencyLedger(documents)
        self._settlement = Settlement(documents)

    def resettle(self, tournament_id: str, match_id: str, status_timestamp: datetime | str, *,
                 execution_id: str) -> SettlementResult:
        match = self._store.match(tournament_id, match_id)
        if match.status != "ended":
            raise MatchNotEnded(f"match {match_id} is {match.status}, not ended: nothing to re-settle")
        key = settlement_key(match_id, status_timestamp)
        current = settlement_key(match_id, match.status_timestamp)
        if key != current:
            raise CorrectionRefused(f"the match's status timestamp is now {match.status_timestamp.isoformat()}: "
                                    f"re-settle that one ({current}), not {key}")
        new_effect = self._settlement.effect_of(match)
        correction = self._take(tournament_id, match_id, key, new_effect)
        if correction is None:  # not settled before: a re-settle is the first settlement
            return self._settlement.settle(tournament_id, match_id, status_timestamp, execution_id=execution_id)
        if correction.get("done"):
            return self._report_done(tournament_id, match_id, key, correction["from_key"], execution_id)
        old = self._settlement.deltas(match, correction["from_effect"])
        deltas = correction_deltas(old, self._settlement.deltas(match, new_effect))
        checksum = checksum_of({"correction_of": correction["from_key"], "match": match_id,
                                "result": new_effect["result"],
                                "deltas": [[d.member_id, d.points, d.exact] for d in deltas]})
        claim = self._ledger.claim(key, checksum, execution_id, detail={"correction_of": correction["from_key"]})
        result = SettlementResult(key=key, outcome_key=key, decision=claim.decision, checksum=checksum,
                                  execution_id=execution_id, original_execution_id=claim.outcome.execution_id,
                                  members=len(deltas))
        if not claim.should_apply:
            self._settlement.report_replay(claim, result)
            return result
        self._settlement.apply(tournament_id, match_id, correction_effect_name(match_id, key), deltas, result)
        self._repin(tournament_id, match_id, key, new_effect, correction["from_key"])
        self._settlement.finish(tournament_id, match_id, result, deltas, correction_of=correction["from_key"])
        log.info("settlement corrected", extra={"fields": {
            "settlement_key": key, "correction_of": correction["from_key"], "match_id": match_id,
            "members_moved": len(deltas), "batches_applied": result.batches_applied,
            "batches_skipped": result.batches_skipped}})
        return result

    def _take(self, tournament_id: str, match_id: str, key: str,
              new_effect: dict[str, Any]) -> dict[str, Any] | None:
        """The correction this key runs (taken now or earlier), {"done": True} once it moved the
        pin, or None when the match was never settled."""
        path = match_path(tournament_id, match_id)

        def take(tx: Transaction) -> dict[str, Any] | None:
            data = tx.get(path).data
            pinned = data.get("settlement_key")
            under_way = data.get("correction")
            if under_way and under_way["key"] == key:
                return under_way
            if pinned == key:
                return {"done": True, "from_key": (data.get("settled_effect") or {}).get("correction_of")}
            if under_way:
                raise TransientError(f"the correction {under_way['key']} of match {match_id} is under way: "
                                     f"{key} waits for it (redelivered)")
            if not pinned:
                return None
            if not data.get("settled_effect"):
                raise CorrectionRefused(f"{pinned} was settled before effects were pinned: rebuild the match's "
                                        f"points by hand")
            taken = {"key": key, "from_key": pinned, "from_effect": data["settled_effect"]}
            tx.update(path, {"correction": taken})
            return taken
        return self._documents.run_transaction(take)

    def _repin(self, tournament_id: str, match_id: str, key: str, effect: dict[str, Any], from_key: str) -> None:
        path = match_path(tournament_id, match_id)

        def repin(tx: Transaction) -> None:
            data = tx.get(path).data
            if (data.get("correction") or {}).get("key") == key:
                tx.update(path, {"settlement_key": key, "settled_effect": {**effect, "correction_of": from_key},
                                 "correction": None})
        self._documents.run_transaction(repin)

    def _report_done(self, tournament_id: str, match_id: str, key: str, from_key: str | None,
                     execution_id: str) -> SettlementResult:
        outcome = self._ledger.get(key)
        result = SettlementResult(key=key, outcome_key=key, decision="duplicate", checksum=outcome.checksum,
                                  execution_id=execution_id, original_execution_id=outcome.execution_id, members=0)
        if outcome.status == APPLIED:
            log.info("settlement replay is a no-op", extra={"fields": {"settlement_key": key, "corrected": True}})
            return result
        # the pin moved, then the process died before the boards were refreshed and the outcome closed
        result.decision = "resume"
        self._settlement.finish(tournament_id, match_id, result, [], correction_of=from_key,
                                finished_on_redelivery=True)
        return result


def submit_correction(services, tournament_id: str, match_id: str, home_goals: int, away_goals: int, *,
                      triggered_by: str):
    """Record the corrected score (a new status timestamp, on the store's clock) and submit its
    re-settlement as a command; on the local backend the job runs here, before this returns."""
    from shared.executions.commands import submit
    from shared.runtime.embedded import EmbeddedDeployment

    store = TournamentStore(services.documents)
    if store.match(tournament_id, match_id).status != "ended":
        raise CorrectionRefused(f"match {match_id} has not ended: record its result, it is settled then")
    match = store.record_result(tournament_id, match_id, home_goals, away_goals)
    if services.settings.backend == "local":
        EmbeddedDeployment(services).deploy()
    accepted = submit(services, job_type="settlement", entity_id=match_id, triggered_by=triggered_by,
                      payload={"tournament_id": tournament_id, "match_id": match_id,
                               "status_timestamp": match.status_timestamp.isoformat(), "correction": True},
                      producer="sportsflow leaderboard resettle")
    if services.settings.backend == "local":
        services.bus.drain(max_seconds=24 * 3600)
    return accepted
