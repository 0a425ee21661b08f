"""Gradient-boosted trees (LightGBM), one regressor per market on the whole ml_feature_store_v2
vector (unknown features stay NaN: LightGBM learns where they go). Stored as LightGBM's own text
model format inside the JSON artifact — never pickled. Deterministic: fixed seeds, one thread,
`deterministic=True`, so the same history gives byte-identical models. Contributions are the
trees' exact per-feature SHAP values (`pred_contrib`)."""
from __future__ import annotations

from typing import Any

import lightgbm
import numpy as np

from shared.pipeline.phase4.features import FEATURE_NAMES
from shared.predictions.systems.base import MarketEstimate
from shared.predictions.systems.data import CONTRIBUTION_NAMES, MARKETS, FeatureBatch, History

TRAINING_PARAMETERS: dict[str, Any] = {
    # L1: predictions are judged on absolute error; small trees, large leaves: ~15k games a season
    "objective": "regression_l1", "learning_rate": 0.05, "num_leaves": 7, "min_data_in_leaf": 100,
    "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
    "seed": 20241022, "deterministic": True, "force_col_wise": True, "num_threads": 1, "verbose": -1,
}
BOOSTING_ROUNDS = 300


class GradientBoosted:
    name = "gradient_boosted"
    learned = True

    def defaults(self) -> None:
        return None

    def fit(self, history: History) -> dict[str, Any]:
        models = {}
        for market in MARKETS:
            target = history.outcomes[market]
            known = ~np.isnan(target)
            data = lightgbm.Dataset(history.features.values[known], label=target[known],
                                    feature_name=list(FEATURE_NAMES), free_raw_data=True)
            booster = lightgbm.train(TRAINING_PARAMETERS, data, num_boost_round=BOOSTING_ROUNDS)
            models[market] = booster.model_to_string()
        return {"format": "lightgbm-text", "lightgbm_version": lightgbm.__version__, "models": models}

    def load(self, params: dict[str, Any]) -> "GradientBoostedModel":
        return GradientBoostedModel(params)


class GradientBoostedModel:
    def __init__(self, params: dict[str, Any]):
        if params.get("format") != "lightgbm-text":
            raise ValueError(f"gradient_boosted artifact format {params.get('format')!r} is not lightgbm-text")
        self.boosters = {market: lightgbm.Booster(model_str=text) for market, text in params["models"].items()}

    def estimate(self, batch: FeatureBatch) -> dict[str, MarketEstimate]:
        return {market: self._market(booster, batch) for market, booster in self.boosters.items()}

    @staticmethod
    def _market(booster: lightgbm.Booster, batch: FeatureBatch) -> MarketEstimate:
        if len(batch) == 0:
            empty = np.zeros((0, len(CONTRIBUTION_NAMES)))
            return MarketEstimate(np.zeros(0), empty)
        shap = booster.predict(batch.values, pred_contrib=True)   # features…, then the bias
        contributions = np.zeros((len(batch), len(CONTRIBUTION_NAMES)))
        contributions[:, :len(FEATURE_NAMES)] = shap[:, :len(FEATURE_NAMES)]
        return MarketEstimate(np.maximum(shap.sum(axis=1), 0.0), contributions)
