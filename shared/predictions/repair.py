"""What the reconciler repairs in Phase 5 (shared.orchestration.reconciler calls it per date):

- Phase 4 completed for the date's current features but no batch was opened for them (the
  coordinator's trigger was lost): predictions are requested;
- a fan-out whose lease ran out (its publisher died): continued from its last recorded chunk;
- players requested but never reported ready `grace` after the fan-out (a request lost with a
  killed process): requested again, at most MAX_REQUESTS_AGAIN times per batch;
- every player ready but no completion claimed (the last ready lost): completed once.
An unpublished completion claim is re-published by the reconciler like any other claim."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from shared.orchestration.fan_in import FanInLedger
from shared.pipeline import data_versions
from shared.predictions import fan_out, readiness
from shared.predictions.batches import BATCHES, BatchLedger

if TYPE_CHECKING:
    from shared.bootstrap import Services

MAX_REQUESTS_AGAIN = 3


@dataclass(frozen=True)
class PredictionRepair:
    kind: str
    target: str
    detail: str


def repair(services: "Services", day: date, *, publish, claimant: str, grace: timedelta,
           nothing_in_flight: bool) -> list[PredictionRepair]:
    from shared.orchestration.rules import PHASE5_TARGET
    documents = services.documents
    if not services.settings.predictions_enabled or not phase4_published(documents, day, PHASE5_TARGET):
        return []
    ledger = BatchLedger(documents)
    batch = ledger.current(day)
    current = data_versions.current_version(documents, fan_out.FEATURES, day)
    if batch is None or (current is not None and batch.feature_data_version != current):
        result = fan_out.request_predictions(services, day, route="reconciler", claimant=claimant, publish=publish)
        return [PredictionRepair("predictions_not_requested", f"phase5/{day}", f"batch {result.batch_id}: "
                                 f"{result.published} requests")] if result.batch_id else []
    if not batch.fanned_out:
        lease = ledger.take_fanout_lease(batch.batch_id, claimant=claimant, holder_is_dead=nothing_in_flight)
        if lease is None:
            return []
        published = fan_out.publish_requests(ledger, batch, lease, publish)
        return [PredictionRepair("fan_out_resumed", batch.batch_id, f"{published} requests from chunk "
                                 f"{batch.published_upto}")]
    ready = ledger.ready(batch.batch_id)
    missing = [p for p in batch.players if not ready.get(p.player_id, {}).get("succeeded")]
    if missing:
        return _request_again(services, batch, missing, publish, grace, nothing_in_flight)
    if readiness.completion_claim(documents, batch) is None:
        readiness.complete(services, batch, claimant=claimant, publish=publish)
        return [PredictionRepair("ready_fan_in_unclaimed", batch.batch_id, "every player ready, completed now")]
    pruned = readiness.prune_superseded(services, batch)  # a superseded worker that wrote after the last prune
    return [PredictionRepair("superseded_predictions", batch.batch_id, f"{pruned} rows removed")] if pruned else []


def _request_again(services, batch, missing, publish, grace, nothing_in_flight) -> list[PredictionRepair]:
    documents = services.documents
    data = documents.get(f"{BATCHES}/{batch.batch_id}").data
    since = data.get("requested_again_at") or data.get("fanned_out_at")
    if not nothing_in_flight and since is not None and documents.now() - since < grace:
        return []
    if int(data.get("requested_again", 0)) >= MAX_REQUESTS_AGAIN:
        return []
    fan_out.request_again(batch, missing, publish)
    documents.update(f"{BATCHES}/{batch.batch_id}", {"requested_again": int(data.get("requested_again", 0)) + 1,
                                                     "requested_again_at": documents.now()})
    return [PredictionRepair("predictions_requested_again", batch.batch_id,
                             f"{len(missing)} players without a prediction")]


def phase4_published(documents, day: date, target: str | None = None) -> bool:
    """The Phase 4 orchestrator published the date's completion (the trigger of Phase 5)."""
    from shared.orchestration.rules import PHASE5_TARGET
    latest = FanInLedger(documents).latest_claims(day).get(target or PHASE5_TARGET)
    return bool(latest and latest["published"])

