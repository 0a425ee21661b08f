"""80% prediction intervals from residual quantiles on history.

Spread grows with the level (a 25-point scorer misses by more than a 5-point one), so residuals
are scaled by sqrt(prediction + 1) — roughly a count's standard deviation — before their 10th and
90th percentiles are taken; the interval is the prediction plus those scaled quantiles, floored at 0."""
from __future__ import annotations

import numpy as np

COVERAGE = 0.8
_Z80 = 1.2816
# untrained fallback: a normal 80% band with these dispersions (≈ residual sd / sqrt(level + 1))
DEFAULT_DISPERSION: dict[str, float] = {"points": 1.45, "rebounds": 1.0, "assists": 0.95, "threes": 0.9}


def _scale(predicted: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(predicted, 0.0) + 1.0)


def default_interval(market: str) -> dict[str, float]:
    spread = _Z80 * DEFAULT_DISPERSION[market]
    return {"low": -spread, "high": spread}


def fit_interval(predicted: np.ndarray, actual: np.ndarray, coverage: float = COVERAGE) -> dict[str, float]:
    known = ~np.isnan(actual) & ~np.isnan(predicted)
    scaled = (actual[known] - predicted[known]) / _scale(predicted[known])
    tail = (1.0 - coverage) / 2.0
    low, high = np.quantile(scaled, [tail, 1.0 - tail])
    return {"low": round(float(low), 6), "high": round(float(high), 6)}


def interval_bounds(predicted: np.ndarray, params: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    scale = _scale(predicted)
    low = np.maximum(predicted + params["low"] * scale, 0.0)
    high = np.maximum(predicted + params["high"] * scale, low)
    return low, high
