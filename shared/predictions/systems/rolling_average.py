"""Rolling averages: a player's market average over the last 5/10 games and the season,
blended with weights fit on history by least absolute deviations (defaults before training)."""
from __future__ import annotations

from typing import Any

import numpy as np

from shared.predictions.systems.base import MarketEstimate, least_absolute_deviations
from shared.predictions.systems.data import MARKETS, FeatureBatch, History
from shared.predictions.systems.recent_form import DEFAULT_PRIORS, blend, filled_averages, fitted_prior, has_history

_DEFAULT_WEIGHTS = {"points": [0.3, 0.4, 0.3], "rebounds": [0.5, 0.5], "assists": [0.5, 0.5], "threes": [0.5, 0.5]}


class RollingAverage:
    name = "rolling_average"
    learned = False

    def defaults(self) -> dict[str, Any]:
        return {market: {"weights": _DEFAULT_WEIGHTS[market], "intercept": 0.0, "prior": DEFAULT_PRIORS[market]}
                for market in MARKETS}

    def fit(self, history: History) -> dict[str, Any]:
        params = {}
        for market in MARKETS:
            prior = fitted_prior(history.features, history.outcomes[market], market)
            values, _ = filled_averages(history.features, market, prior)
            seen = has_history(history.features, market)
            design = np.column_stack([values[seen], np.ones(seen.sum())])
            solution = least_absolute_deviations(design, history.outcomes[market][seen])
            params[market] = {"weights": [round(float(w), 6) for w in solution[:-1]],
                              "intercept": round(float(solution[-1]), 6), "prior": prior}
        return params

    def load(self, params: dict[str, Any]) -> "RollingAverageModel":
        return RollingAverageModel(params)


class RollingAverageModel:
    def __init__(self, params: dict[str, Any]):
        self.params = params

    def estimate(self, batch: FeatureBatch) -> dict[str, MarketEstimate]:
        return {market: MarketEstimate(*blend(batch, market, p["weights"], p["intercept"], p["prior"]))
                for market, p in self.params.items()}
