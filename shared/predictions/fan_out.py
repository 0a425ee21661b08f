"""Fan-out: one `prediction-request` per player of a batch, published in chunks under the batch's
fan-out lease, resumable after a crash, never twice for the same inputs (shared.predictions.batches)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Callable, Iterable

from shared.contracts.envelope import Message
from shared.contracts.messages import PredictionRequest
from shared.pipeline import data_versions
from shared.predictions.batches import CHUNK, Batch, BatchLedger, LeaseLost, Player
from shared.runtime import crash_points

if TYPE_CHECKING:
    from shared.bootstrap import Services

log = logging.getLogger("sportsflow.predictions")
Publish = Callable[[str, Message], str]
FEATURES = "ml_feature_store_v2"
MARKETS = ("points", "rebounds", "assists", "threes")
REQUEST_TOPIC = "prediction-request"


@dataclass(frozen=True)
class FanOut:
    batch_id: str | None
    created: bool
    published: int           # requests this call published
    state: str               # fanned_out | in_progress_elsewhere | waiting_for_features | superseded | off


def features_ready(services: "Services", day: date) -> tuple[str | None, list[Player]]:
    """The date's feature data version (None until Phase 4 recorded it) and the players with a feature row."""
    rows = services.warehouse.query(
        f"SELECT DISTINCT player_id, game_id FROM nba_precompute.{FEATURES} WHERE game_date = @d", {"d": day})
    return (data_versions.current_version(services.documents, FEATURES, day),
            [Player(int(r["player_id"]), str(r["game_id"])) for r in rows])


def request_predictions(services: "Services", day: date, *, route: str, claimant: str, publish: Publish,
                        feature_data_version: str | None = None, players: Iterable[Player] | None = None
                        ) -> FanOut:
    """Open the batch for the date's current inputs and fan it out (or continue a crashed fan-out).

    `feature_data_version`: the version the caller was told about (a Phase 4 completion); an
    older one than the date's current version is superseded and requests nothing."""
    from shared.predictions.models import model_set, versions_for_date

    current, available = features_ready(services, day)
    if feature_data_version is not None and current is not None and feature_data_version != current:
        log.info("predictions superseded", extra={"fields": {"analysis_date": day.isoformat(), "route": route,
                                                             "told": feature_data_version, "current": current}})
        return FanOut(None, False, 0, "superseded")
    version = current or feature_data_version
    if version is None:
        return FanOut(None, False, 0, "waiting_for_features")
    roster = list(players) if players is not None else available  # empty: a date without games
    ledger = BatchLedger(services.documents)
    stored = versions_for_date(services, day)
    opened = ledger.open(day, version, model_set(services, stored).versions, roster, created_by=route,
                         claimant=claimant, stored_model_versions=stored)
    lease = opened.lease or ledger.take_fanout_lease(opened.batch.batch_id, claimant=claimant)
    if opened.batch.fanned_out:
        return FanOut(opened.batch.batch_id, opened.created, 0, "fanned_out")
    if lease is None:
        return FanOut(opened.batch.batch_id, opened.created, 0, "in_progress_elsewhere")
    batch = ledger.get(opened.batch.batch_id)
    published = publish_requests(ledger, batch, lease, publish)
    if batch.expected == 0:  # nobody to predict: the batch is complete as it stands
        from shared.predictions.readiness import complete
        complete(services, batch, claimant=claimant, publish=publish)
    return FanOut(opened.batch.batch_id, opened.created, published, "fanned_out")


def publish_requests(ledger: BatchLedger, batch: Batch, lease: str, publish: Publish) -> int:
    """Publish the batch's requests from where the last holder stopped, chunk by chunk."""
    published = 0
    try:
        for start in range(batch.published_upto, batch.expected, CHUNK):
            chunk = batch.players[start:start + CHUNK]
            for player in chunk:
                publish(REQUEST_TOPIC, request_for(batch, player))
                published += 1
            crash_points.crash_point(crash_points.FANOUT_CHUNK_PUBLISHED, batch=batch.batch_id)
            ledger.advance(batch.batch_id, lease, start + len(chunk), done=start + len(chunk) >= batch.expected)
        if batch.published_upto >= batch.expected:  # nothing to publish, or resumed after the last chunk
            ledger.advance(batch.batch_id, lease, batch.expected, done=True)
    except LeaseLost:
        log.warning("fan-out lease lost; its new holder continues", extra={"fields": {"batch_id": batch.batch_id}})
        return published
    except Exception:
        ledger.release(batch.batch_id, lease)  # a redelivery may take over at once
        raise
    log.info("predictions requested", extra={"fields": {
        "analysis_date": batch.game_date.isoformat(), "batch_id": batch.batch_id, "players": batch.expected,
        "published_now": published, "generation": batch.generation}})
    return published


def request_for(batch: Batch, player: Player) -> PredictionRequest:
    return PredictionRequest(game_date=batch.game_date, batch_id=batch.batch_id, player_id=player.player_id,
                             game_id=player.game_id, prop_types=MARKETS,
                             feature_data_version=batch.feature_data_version, generation=batch.generation)


def request_again(batch: Batch, players: Iterable[Player], publish: Publish) -> int:
    """Re-request players (the /retry route, the reconciler): workers dedupe per batch and player."""
    count = 0
    for player in players:
        publish(REQUEST_TOPIC, request_for(batch, player))
        count += 1
    return count
