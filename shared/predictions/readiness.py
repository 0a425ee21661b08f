"""Fan-in: every `prediction-ready` is one player's own document (no hot document: Firestore
sustains about one write a second per document, and 100 workers report at once); the message
that finds every requested player in claims the completion through the fan-in ledger of the
self-healing pipeline (shared.orchestration.fan_in), so `phase5-predictions-complete` is
published exactly once per batch, and a crash between claim and publish is repaired by the
claimant's redelivery or the reconciler like any other claim."""
from __future__ import annotations

import logging
import uuid
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from shared.contracts.envelope import Message
from shared.contracts.messages import PredictionReady, PredictionsCompleted
from shared.orchestration.dependency_graph import ClaimNotYetPublished, TriggerRule, publish_claim
from shared.orchestration.fan_in import DEFAULT_STALE_AFTER, FanInLedger
from shared.predictions.batches import Batch, BatchLedger
from shared.runtime import crash_points

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.predictions")
Publish = Callable[[str, Message], str]
ORCHESTRATOR = "phase5_coordinator"
COMPLETE_TOPIC = "phase5-predictions-complete"
TARGET_PREFIX = "phase5-complete/"


def on_ready(services: "Services", message: PredictionReady, *, claimant: str, publish: Publish) -> bool:
    """Record one player's readiness; complete the batch when it was the last. True if it completed now."""
    from shared.runtime.errors import PermanentError

    ledger = BatchLedger(services.documents)
    batch = ledger.get(message.batch_id)
    if batch is None:
        raise PermanentError(f"prediction-ready for unknown batch {message.batch_id!r}")
    if message.player_id not in {p.player_id for p in batch.players}:
        raise PermanentError(f"prediction-ready for player {message.player_id}, who is not in batch {batch.batch_id}")
    ledger.record_ready(batch.batch_id, message.player_id, succeeded=message.success, error=message.error,
                        predictions=message.predictions_written, message_id=claimant)
    if not message.success or ledger.succeeded_count(batch.batch_id) < batch.expected:
        return False
    if ledger.done_count(batch.batch_id) < batch.expected:  # readiness claimed, but a player's rows are missing
        log.warning("prediction-ready without the worker's record", extra={"fields": {
            "batch_id": batch.batch_id, "player_id": message.player_id}})
        return False
    return complete(services, batch, claimant=claimant, publish=publish)


def complete(services: "Services", batch: Batch, *, claimant: str, publish: Publish,
             stale_after=DEFAULT_STALE_AFTER) -> bool:
    """Claim and publish the batch's completion once. The claimant's own redelivery must not be
    acknowledged before the claim is published (raises ClaimNotYetPublished, a TransientError)."""
    prune_superseded(services, batch)
    fan_in = FanInLedger(services.documents)
    rule = completion_rule(batch.batch_id)
    inputs = batch.batch_id
    attempt = uuid.uuid4().hex
    claim = fan_in.claim(batch.game_date, rule.target, inputs, orchestrator=ORCHESTRATOR, claimant=claimant,
                         attempt=attempt)
    if claim.published:
        return False
    if not claim.won_now and not fan_in.take_publish_lease(batch.game_date, rule.target, inputs, claimant=claimant,
                                                           attempt=attempt, stale_after=stale_after):
        if claim.claimant == claimant:
            raise ClaimNotYetPublished(f"{rule.target}: claimed by this message, not yet published")
        return False
    crash_points.crash_point(crash_points.FANIN_CLAIMED, target=rule.target)
    publish_claim(fan_in, rule, batch.game_date, inputs, claim.claim_id, attempt=attempt, publish=publish,
                  services=services)
    log.info("predictions complete", extra={"fields": {"analysis_date": batch.game_date.isoformat(),
                                                        "batch_id": batch.batch_id, "players": batch.expected,
                                                        "generation": batch.generation}})
    return True


def prune_superseded(services: "Services", batch: Batch) -> int:
    """Once the date's current batch is complete, the rows of the batches it superseded go: the
    table then holds exactly the current predictions (never a stale one next to them).
    Idempotent; returns the rows removed."""
    from shared.predictions.tables import PLAYER_PROP_PREDICTIONS as table

    pointer = BatchLedger(services.documents).pointer(batch.game_date)
    if pointer is None or pointer["batch_id"] != batch.batch_id:
        return 0
    where = "WHERE game_date = @d AND batch_id != @b"
    params = {"d": batch.game_date, "b": batch.batch_id}
    stale = services.warehouse.query(f"SELECT COUNT(*) AS n FROM {table.qualified_name} {where}", params)[0]["n"]
    if stale:
        keep = services.warehouse.query(f"SELECT * FROM {table.qualified_name} WHERE game_date = @d "
                                        "AND batch_id = @b", params)
        services.warehouse.replace_partition(table, batch.game_date, keep)
        log.info("superseded predictions removed", extra={"fields": {
            "analysis_date": batch.game_date.isoformat(), "batch_id": batch.batch_id, "rows": stale}})
    return stale


def completion_rule(batch_id: str) -> TriggerRule:
    """The completion of one batch as a fan-in rule (the reconciler re-publishes it by target)."""
    def build(day: date, claim_id: str, services: Any) -> PredictionsCompleted:
        ledger = BatchLedger(services.documents)
        batch = ledger.get(batch_id)
        done = ledger.succeeded_count(batch_id)
        ledger.mark_complete(batch)  # the API's caches of the date see a newer version land
        return PredictionsCompleted(game_date=day, batch_id=batch_id, players_requested=batch.expected,
                                    players_completed=done, coverage=done / batch.expected if batch.expected else 1.0,
                                    claim_id=claim_id)

    return TriggerRule(target=f"{TARGET_PREFIX}{batch_id}", waits_for=frozenset(), topic=COMPLETE_TOPIC,
                       build=build, inputs=lambda day, documents: batch_id)


def is_completion_target(target: str) -> bool:
    return target.startswith(TARGET_PREFIX)


def completion_claim(documents, batch: Batch) -> dict[str, Any] | None:
    """The fan-in claim of the batch's completion, if one was made."""
    return FanInLedger(documents).find_claim(batch.game_date, f"{TARGET_PREFIX}{batch.batch_id}", batch.batch_id)


def completion_published(services: "Services", batch: Batch) -> bool:
    claim = completion_claim(services.documents, batch)
    return bool(claim and claim["published"])
