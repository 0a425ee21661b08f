"""The `phase5_prediction_worker` function: one player's predictions, every system and market,
exactly once per batch.

Effects, in order: the rows appended to `nba_predictions.player_prop_predictions` (idempotent
per batch and player: the warehouse's append ledger / BigQuery load job id), the projection
the API reads, a `done` marker, then `prediction-ready`. A crash between any two repeats the
steps on redelivery without doubling anything; a duplicate request for a done player only
announces it again (the coordinator records each player once)."""
from __future__ import annotations

import json
import logging
import threading
from typing import TYPE_CHECKING, Any

from shared.contracts.messages import PredictionReady, PredictionRequest
from shared.predictions import projection
from shared.predictions.batches import BATCHES, Batch, BatchLedger
from shared.predictions.fan_out import FEATURES
from shared.predictions.tables import PLAYER_PROP_PREDICTIONS
from shared.runtime import crash_points
from shared.runtime.errors import PermanentError

if TYPE_CHECKING:
    from shared.predictions.systems import PredictionColumns
    from shared.runtime.context import FunctionContext

log = logging.getLogger("sportsflow.predictions.worker")
READY_TOPIC = "prediction-ready"
FEATURE_ROWS_SQL = f"SELECT * FROM nba_precompute.{FEATURES} WHERE game_date = @d"
_features: dict[tuple[str, str], list[dict[str, Any]]] = {}
_features_lock = threading.Lock()
LINE_COLUMNS = {"points": "points_line", "rebounds": "rebounds_line", "assists": "assists_line",
                "threes": "threes_line"}


def handle_prediction_request(message: PredictionRequest, fctx: "FunctionContext") -> None:
    services = fctx.services
    ledger = BatchLedger(services.documents)
    batch = ledger.get(message.batch_id)
    if batch is None:
        raise PermanentError(f"prediction-request for unknown batch {message.batch_id!r}")
    if message.feature_data_version not in (None, batch.feature_data_version):
        raise PermanentError(f"the request names feature version {message.feature_data_version}, its batch "
                             f"{batch.batch_id} was opened on {batch.feature_data_version}")
    current = (ledger.pointer(message.game_date) or {}).get("batch_id")
    if current != batch.batch_id:  # newer features or models opened a newer batch for the date
        _announce(fctx, message, success=False, superseded=True,
                  error=f"superseded by batch {current} of the date")
        return
    done = services.documents.get(done_path(batch.batch_id, message.player_id))
    written = int(done.data["predictions"]) if done else predict_player(services, batch, message)
    _announce(fctx, message, success=True, written=written)


def predict_player(services, batch: Batch, message: PredictionRequest) -> int:
    from shared.predictions.models import model_set
    from shared.predictions.systems import FeatureVersionMismatch, LookAheadError

    rows = [row for row in date_features(services, message.game_date, batch.feature_data_version)
            if int(row["player_id"]) == message.player_id and row["game_id"] == message.game_id]
    if not rows:
        raise PermanentError(f"no {FEATURES} row for player {message.player_id} in game {message.game_id} "
                             f"on {message.game_date}")
    models = model_set(services, batch.stored_model_versions)
    if models.versions != batch.model_versions:
        raise PermanentError(f"batch {batch.batch_id} names model versions {batch.model_versions}; the stored "
                             f"versions load as {models.versions}")
    try:
        predictions = models.predict_columns(rows)
    except (LookAheadError, FeatureVersionMismatch) as err:  # no retry can make these models fit this row
        raise PermanentError(f"batch {batch.batch_id}: {err}") from None
    table_rows = prediction_rows(batch, rows[0], predictions)
    services.warehouse.append_rows(PLAYER_PROP_PREDICTIONS, table_rows,
                                   batch_id=f"{batch.batch_id}:{message.player_id}:{message.game_id}")
    crash_points.crash_point(crash_points.PREDICTIONS_WRITTEN, target=f"{batch.batch_id}:{message.player_id}")
    header = {k: rows[0][k] for k in ("player_name", "team_abbr", "opponent_abbr", "game_id")}
    projection.write_player(services.documents, message.game_date, message.player_id, batch_id=batch.batch_id,
                            generation=batch.generation, header=header, rows=table_rows)
    services.documents.create(done_path(batch.batch_id, message.player_id),
                              {"batch_id": batch.batch_id, "player_id": message.player_id,
                               "predictions": len(table_rows), "done_at": services.documents.now()})
    return len(table_rows)


def date_features(services, day, feature_data_version: str) -> list[dict[str, Any]]:
    """The date's feature rows, read once per instance and version: an instance predicts many
    players of one slate, and one query per player would cost a warehouse job each (BigQuery)."""
    key = (day.isoformat(), feature_data_version)
    with _features_lock:
        if key not in _features:
            _features.clear()  # one slate at a time
            _features[key] = services.warehouse.query(FEATURE_ROWS_SQL, {"d": day})
        return _features[key]


def prediction_rows(batch: Batch, feature_row: dict[str, Any],
                    predictions: "PredictionColumns") -> list[dict[str, Any]]:
    """The table rows of a batch's predictions, block by block (market, system) over its rows."""
    player_ids = [int(player_id) for player_id in predictions.player_ids]
    game_dates = predictions.game_dates.astype(object).tolist()
    out = []
    for b in range(predictions.blocks):
        market, system = predictions.markets[b], predictions.systems[b]
        common = {"player_name": feature_row["player_name"], "team_abbr": feature_row["team_abbr"],
                  "market": market, "system": system, "model_version": predictions.model_versions[b],
                  "feature_version": predictions.feature_version,
                  "feature_data_version": batch.feature_data_version, "batch_id": batch.batch_id}
        line = _line(feature_row, market)
        for game_date, game_id, player_id, value, low, high, top in zip(
                game_dates, predictions.game_ids, player_ids, predictions.values[b].tolist(),
                predictions.interval_low[b].tolist(), predictions.interval_high[b].tolist(),
                predictions.top_features(b)):
            out.append({"game_date": game_date, "game_id": game_id, "player_id": player_id, **common,
                        "prediction": round(value, 4), "interval_low": round(low, 4),
                        "interval_high": round(high, 4), "line": line,
                        "top_features": json.dumps([[name, round(amount, 4)] for name, amount in top])})
    return out


def _line(feature_row: dict[str, Any], market: str) -> float | None:
    value = feature_row.get(LINE_COLUMNS.get(market, ""))
    return None if value is None else float(value)


def done_path(batch_id: str, player_id: int) -> str:
    return f"{BATCHES}/{batch_id}/done/{player_id}"


def _announce(fctx: "FunctionContext", message: PredictionRequest, *, success: bool, written: int = 0,
              error: str | None = None, superseded: bool = False) -> None:
    fctx.publish(READY_TOPIC, PredictionReady(success=success, error=error, game_date=message.game_date,
                                              batch_id=message.batch_id, player_id=message.player_id,
                                              predictions_written=written, superseded=superseded))
