"""The five prediction systems and the interface Phase 5 workers call.

    models = model_registry.load_current(services)     # or ModelSet.untrained() before training
    predictions = models.predict(rows)                 # ml_feature_store_v2 rows as dicts
    # one Prediction per (row, market, system), each naming models.versions[system]
    columns = models.predict_columns(rows)             # the same, as numpy arrays (the batch path)

Systems: rolling_average (blended per-game averages), pace_adjusted (form × game-context
factors), similar_players (k nearest past games of similar players in similar matchups),
gradient_boosted (LightGBM, text model format), ensemble (non-negative weights of the others fit
on held-out history). Before any training, ModelSet.untrained() predicts with rolling_average,
pace_adjusted and an equal-weight ensemble of those two on documented defaults, and skips
similar_players and gradient_boosted with the reason in `ModelSet.skipped`."""
from __future__ import annotations

from shared.predictions.systems.catalog import MODEL_CODE_VERSION, SYSTEMS
from shared.predictions.systems.columns import Prediction, PredictionColumns
from shared.predictions.systems.data import MARKETS, FeatureVersionMismatch
from shared.predictions.systems.model_set import LookAheadError, ModelSet

__all__ = ["MARKETS", "MODEL_CODE_VERSION", "SYSTEMS", "FeatureVersionMismatch", "LookAheadError", "ModelSet",
           "Prediction", "PredictionColumns"]
