"""The ensemble: per market, a non-negative weighted sum of the other systems' predictions.
The weights are fit (non-negative, least absolute deviations) on predictions the components made for dates
they were not trained on — the last part of the history — so they reward what generalises.
Before training, the available components are weighted equally. A component that is missing at
prediction time is left out and the others' weights are scaled up to the same total."""
from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from shared.predictions.systems.base import MarketEstimate, least_absolute_deviations
from shared.predictions.systems.data import MARKETS

COMPONENTS: tuple[str, ...] = ("rolling_average", "pace_adjusted", "similar_players", "gradient_boosted")


def non_negative_least_squares(design: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Exact NNLS for a handful of columns: the best unconstrained fit over every subset of
    columns whose solution is non-negative."""
    best, best_error = np.zeros(design.shape[1]), float(np.sum(target ** 2))
    for size in range(1, design.shape[1] + 1):
        for subset in combinations(range(design.shape[1]), size):
            columns = list(subset)
            solution, *_ = np.linalg.lstsq(design[:, columns], target, rcond=None)
            if (solution < 0).any():
                continue
            error = float(np.sum((design[:, columns] @ solution - target) ** 2))
            if error < best_error:
                best = np.zeros(design.shape[1])
                best[columns] = solution
                best_error = error
    return best


def fit_weights(component_predictions: dict[str, dict[str, np.ndarray]],
                outcomes: dict[str, np.ndarray]) -> dict[str, Any]:
    """component_predictions: system → market → predictions on held-out history."""
    systems = [s for s in COMPONENTS if s in component_predictions]
    weights = {}
    for market in MARKETS:
        design = np.column_stack([component_predictions[s][market] for s in systems])
        target = outcomes[market]
        known = ~np.isnan(target) & ~np.isnan(design).any(axis=1)
        solution = least_absolute_deviations(design[known], target[known], solve=non_negative_least_squares)
        weights[market] = {s: round(float(w), 6) for s, w in zip(systems, solution)}
    return {"weights": weights}


def default_params(available: tuple[str, ...]) -> dict[str, Any]:
    share = round(1.0 / len(available), 6) if available else 0.0
    return {"weights": {market: {s: share for s in available} for market in MARKETS}}


class EnsembleModel:
    def __init__(self, params: dict[str, Any]):
        self.weights = params["weights"]

    def combine(self, estimates: dict[str, dict[str, MarketEstimate]]) -> dict[str, MarketEstimate]:
        """estimates: component system → market → its estimate for the batch."""
        combined = {}
        for market, weights in self.weights.items():
            present = {s: w for s, w in weights.items() if s in estimates}
            if not present:
                raise ValueError(f"the ensemble has none of its components {sorted(weights)} for {market}")
            scale = sum(weights.values()) / sum(present.values()) if sum(present.values()) > 0 else 0.0
            values = sum(w * scale * estimates[s][market].values for s, w in present.items())
            contributions = sum(w * scale * estimates[s][market].contributions for s, w in present.items())
            combined[market] = MarketEstimate(np.maximum(values, 0.0), contributions)
        return combined
