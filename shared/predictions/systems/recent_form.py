"""A player's recent form in one market: a weighted blend of his per-game averages (last 5,
last 10, season), the common base of the rolling-average, pace-adjusted and similar-player
systems. A missing average takes the next longer one's value; a player with no games yet
gets the market's prior (mean outcome of first games in history)."""
from __future__ import annotations

import numpy as np

from shared.predictions.systems.data import CONTRIBUTION_INDEX, CONTRIBUTION_NAMES, PRIOR, RECENT_AVERAGES, FeatureBatch

DEFAULT_PRIORS: dict[str, float] = {"points": 6.0, "rebounds": 2.5, "assists": 1.5, "threes": 0.6}


def filled_averages(batch: FeatureBatch, market: str, prior: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows × averages) values with gaps filled from longer windows, and which column each came
    from (len(averages) = the prior)."""
    names = RECENT_AVERAGES[market]
    count = len(names)
    values = np.empty((len(batch), count))
    sources = np.empty((len(batch), count), dtype=np.int64)
    next_values = np.full(len(batch), prior)
    next_sources = np.full(len(batch), count)
    for j in range(count - 1, -1, -1):
        column = batch.column(names[j])
        known = ~np.isnan(column)
        values[:, j] = np.where(known, column, next_values)
        sources[:, j] = np.where(known, j, next_sources)
        next_values, next_sources = values[:, j], sources[:, j]
    return values, sources


def blend(batch: FeatureBatch, market: str, weights: list[float], intercept: float,
          prior: float) -> tuple[np.ndarray, np.ndarray]:
    """The blended form and its contributions (rows × CONTRIBUTION_NAMES): each weight × the
    average it was applied to, credited to the column that value came from."""
    values, sources = filled_averages(batch, market, prior)
    weight_vector = np.asarray(weights)
    form = values @ weight_vector + intercept
    contributions = np.zeros((len(batch), len(CONTRIBUTION_NAMES)))
    targets = [CONTRIBUTION_INDEX[name] for name in RECENT_AVERAGES[market]] + [CONTRIBUTION_INDEX[PRIOR]]
    target_of = np.asarray(targets)
    rows = np.arange(len(batch))
    for j, weight in enumerate(weight_vector):
        np.add.at(contributions, (rows, target_of[sources[:, j]]), weight * values[:, j])
    return np.maximum(form, 0.0), contributions


def has_history(batch: FeatureBatch, market: str) -> np.ndarray:
    return ~np.isnan(batch.column(RECENT_AVERAGES[market][-1]))


def fitted_prior(batch: FeatureBatch, actual: np.ndarray, market: str) -> float:
    newcomers = ~has_history(batch, market) & ~np.isnan(actual)
    if newcomers.sum() < 20:
        return DEFAULT_PRIORS[market]
    return round(float(np.mean(actual[newcomers])), 6)
