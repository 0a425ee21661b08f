"""Similar-player matchups: how did players like him, in games like this one, do against their
own form? Each past game (player with history) is a point in a standardised profile space —
his season per-game stat line, minutes, usage, three-point volume, and the matchup (opponent
defence and pace, home court). A prediction takes the k nearest past games and scales the
player's form by their median ratio (actual + 1) / (form + 1), for every market at once.
Learned: it needs history to have neighbours, so it has no defaults."""
from __future__ import annotations

from typing import Any

import numpy as np

from shared.predictions.systems.base import MarketEstimate
from shared.predictions.systems.data import (
    CONTRIBUTION_INDEX,
    MARKETS,
    SIMILAR_PLAYERS_ADJUSTMENT,
    FeatureBatch,
    History,
)
from shared.predictions.systems.recent_form import blend, has_history
from shared.predictions.systems.rolling_average import RollingAverage

PROFILE: tuple[tuple[str, float], ...] = (  # feature, weight in the distance
    ("points_avg_season", 1.0), ("rebounds_avg_season", 1.0), ("assists_avg_season", 1.0),
    ("threes_avg_season", 1.0), ("minutes_avg_season", 1.0), ("usage_rate_last10", 0.7),
    ("three_attempts_per36", 0.7), ("opponent_defensive_rating", 0.6), ("opponent_pace", 0.6), ("is_home", 0.4),
)
NEIGHBOURS = 50
MAX_REFERENCE_GAMES = 3000   # the most recent games with history: bounds artifact size and latency
_CHUNK = 512
_RATIO_LIMITS = (0.0, 5.0)


def _profiles(batch: FeatureBatch, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    raw = np.column_stack([batch.column(name) for name, _ in PROFILE])
    standardised = np.nan_to_num((raw - means) / scales, nan=0.0)
    return (standardised * np.asarray([weight for _, weight in PROFILE])).astype(np.float32)


class SimilarPlayers:
    name = "similar_players"
    learned = True

    def defaults(self) -> None:
        return None

    def fit(self, history: History) -> dict[str, Any]:
        form_params = RollingAverage().fit(history)
        seen = has_history(history.features, "points")
        reference = history.take(np.flatnonzero(seen)[-MAX_REFERENCE_GAMES:])
        raw = np.column_stack([reference.features.column(name) for name, _ in PROFILE])
        means = np.nanmean(raw, axis=0)
        scales = np.nanstd(raw, axis=0)
        means, scales = np.nan_to_num(means), np.where(np.nan_to_num(scales) > 0, np.nan_to_num(scales), 1.0)
        ratios = {}
        for market in MARKETS:
            p = form_params[market]
            form, _ = blend(reference.features, market, p["weights"], p["intercept"], p["prior"])
            ratio = (reference.outcomes[market] + 1.0) / (form + 1.0)
            ratios[market] = [round(float(r), 4) for r in np.clip(np.nan_to_num(ratio, nan=1.0), *_RATIO_LIMITS)]
        profiles = _profiles(reference.features, means, scales)
        return {"form": form_params, "means": [round(float(m), 6) for m in means],
                "scales": [round(float(s), 6) for s in scales], "neighbours": NEIGHBOURS,
                "profiles": [[round(float(v), 4) for v in row] for row in profiles], "ratios": ratios}

    def load(self, params: dict[str, Any]) -> "SimilarPlayersModel":
        return SimilarPlayersModel(params)


class SimilarPlayersModel:
    def __init__(self, params: dict[str, Any]):
        self.form = params["form"]
        self.means = np.asarray(params["means"])
        self.scales = np.asarray(params["scales"])
        self.k = min(int(params["neighbours"]), len(params["profiles"]))
        reference = np.asarray(params["profiles"], dtype=np.float32)
        self.reference_norms = (reference ** 2).sum(axis=1)
        self.minus_twice_reference = -2.0 * reference   # × 2 is exact: the same distances, one pass fewer
        self.ratios = {market: np.asarray(values) for market, values in params["ratios"].items()}

    def _neighbours(self, batch: FeatureBatch) -> np.ndarray:
        """Indices (rows × k) of each row's nearest reference games (squared distance, its
        constant |profile|² term dropped), the batch in chunks that stay in cache."""
        profiles = _profiles(batch, self.means, self.scales)
        nearest = np.empty((len(batch), self.k), dtype=np.int64)
        for start in range(0, len(batch), _CHUNK):
            chunk = profiles[start:start + _CHUNK]
            distances = chunk @ self.minus_twice_reference.T
            distances += self.reference_norms
            nearest[start:start + _CHUNK] = np.argpartition(distances, self.k - 1, axis=1)[:, :self.k]
        return nearest

    def estimate(self, batch: FeatureBatch) -> dict[str, MarketEstimate]:
        nearest = self._neighbours(batch) if self.k and len(batch) else None
        return {market: self._market(batch, market, nearest) for market in self.ratios}

    def _market(self, batch: FeatureBatch, market: str, nearest: np.ndarray | None) -> MarketEstimate:
        p = self.form[market]
        form, contributions = blend(batch, market, p["weights"], p["intercept"], p["prior"])
        if nearest is None:
            return MarketEstimate(form, contributions)
        ratio = np.median(self.ratios[market][nearest], axis=1)
        adjusted = np.where(has_history(batch, market), (form + 1.0) * ratio - 1.0, form)
        values = np.maximum(adjusted, 0.0)
        contributions[:, CONTRIBUTION_INDEX[SIMILAR_PLAYERS_ADJUSTMENT]] = values - form
        return MarketEstimate(values, contributions)
