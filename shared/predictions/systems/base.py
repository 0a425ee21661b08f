"""What every prediction system provides: fit on a History (params that are plain JSON), load
those params into a model, and predict one market for a whole batch at once.

`fit` sees only the History it is given — the caller (shared.predictions.training) gives it the
dates strictly before the ones it will predict. `defaults()` are the params a system works with
before any training; learned systems have none."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from shared.predictions.systems.data import FeatureBatch, History


@dataclass(frozen=True)
class MarketEstimate:
    values: np.ndarray          # (rows,) point predictions
    contributions: np.ndarray   # (rows, len(CONTRIBUTION_NAMES)): what moved each prediction


class LoadedModel(Protocol):
    def estimate(self, batch: FeatureBatch) -> dict[str, MarketEstimate]:
        """Every market's estimate for the whole batch (one call per batch, never per row)."""


class PredictionSystem(Protocol):
    name: str
    learned: bool

    def fit(self, history: History) -> dict[str, Any]: ...

    def defaults(self) -> dict[str, Any] | None: ...

    def load(self, params: dict[str, Any]) -> LoadedModel: ...


IRLS_ITERATIONS = 30
_IRLS_FLOOR = 0.5   # residuals smaller than this weigh as much as this (keeps IRLS stable)


def least_absolute_deviations(design: np.ndarray, target: np.ndarray, ridge: float = 1e-3,
                              solve=None) -> np.ndarray:
    """Coefficients minimising the mean absolute error (what predictions are judged on; it
    targets the median, which for skewed counts like points sits below the mean), by
    iteratively reweighted least squares on the rows where everything is known. `solve(a, b)`
    replaces the ridge solve (the ensemble passes a non-negative one)."""
    known = ~np.isnan(target) & ~np.isnan(design).any(axis=1)
    a, b = design[known], target[known]
    solve = solve or (lambda x, y: np.linalg.solve(x.T @ x + ridge * len(y) * np.eye(x.shape[1]), x.T @ y))
    weights = np.ones(len(b))
    coefficients = np.zeros(a.shape[1])
    for _ in range(IRLS_ITERATIONS):
        root = np.sqrt(weights)
        coefficients = solve(a * root[:, None], b * root)
        weights = 1.0 / np.maximum(np.abs(b - a @ coefficients), _IRLS_FLOOR)
    return coefficients
