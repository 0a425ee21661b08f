"""nba_predictions.player_prop_predictions: one row per (player, game, market, system, model version)
for the analysis date D, written by the prediction workers (append, exactly once per batch and player)."""
from __future__ import annotations

from shared.pipeline.schema import game_date_table
from shared.ports.warehouse import nullable as _opt
from shared.ports.warehouse import required as _req

DATASET = "nba_predictions"

PLAYER_PROP_PREDICTIONS = game_date_table(
    DATASET, "player_prop_predictions",
    "one row per player expected on D, prop market and prediction system: the predicted value, an 80% "
    "interval and the features that moved it most; exactly once per (batch, player, market, system)",
    _req("game_date", "DATE", "the analysis date D"),
    _req("game_id", "STRING", "the player's game on D"),
    _req("player_id", "INT64", "NBA person id"),
    _req("player_name", "STRING", "registry name"),
    _req("team_abbr", "STRING", "his team on D"),
    _req("market", "STRING", "points, rebounds, assists or threes"),
    _req("system", "STRING", "the prediction system"),
    _req("model_version", "STRING", "the model version that made the prediction (registry content hash)"),
    _req("feature_version", "STRING", "the feature-vector contract (ml_feature_store_v2 feature_version)"),
    _req("feature_data_version", "STRING", "data version of the date's ml_feature_store_v2 rows it read"),
    _req("batch_id", "STRING", "the coordinator's batch (one per date, feature data version and model versions)"),
    _req("prediction", "FLOAT64", "predicted value"),
    _req("interval_low", "FLOAT64", "lower end of the 80% interval"),
    _req("interval_high", "FLOAT64", "upper end of the 80% interval"),
    _opt("line", "FLOAT64", "the prop line of the market on D, when the source has one"),
    _req("top_features", "STRING", "JSON [[feature, contribution], ...], largest contribution first"),
    clustering=("player_id", "market"),
)
