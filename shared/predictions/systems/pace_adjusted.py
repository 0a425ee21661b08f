"""Opponent- and pace-adjusted rates: the player's recent form scaled by the game's context —
    value = form × (1 + Σ coefficient_k × factor_k)
with the Phase 4 factors (pace, opponent strength, zone matchup, the opponent's three-point
defence, home court, fatigue) centred so 0 means "an average game". The coefficients are fit by
least absolute deviations on history; before training the pace and opponent factors apply as they are
defined (proportionally), the rest not at all."""
from __future__ import annotations

from typing import Any

import numpy as np

from shared.predictions.systems.base import MarketEstimate, least_absolute_deviations
from shared.predictions.systems.data import CONTRIBUTION_INDEX, MARKETS, FeatureBatch, History
from shared.predictions.systems.recent_form import DEFAULT_PRIORS, blend, fitted_prior, has_history
from shared.predictions.systems.rolling_average import RollingAverage

# factor → the value that means "an average game"
_CENTRES = {"pace_factor": 0.0, "opponent_strength_factor": 0.0, "matchup_zone_factor": 0.0,
            "opponent_three_vs_league": 0.0, "is_home": 0.5, "fatigue_factor": 1.0}
FACTORS: dict[str, tuple[str, ...]] = {
    "points": ("pace_factor", "opponent_strength_factor", "matchup_zone_factor", "is_home", "fatigue_factor"),
    "rebounds": ("pace_factor", "opponent_strength_factor", "is_home", "fatigue_factor"),
    "assists": ("pace_factor", "opponent_strength_factor", "is_home", "fatigue_factor"),
    "threes": ("pace_factor", "opponent_three_vs_league", "is_home", "fatigue_factor"),
}
_DEFAULT_COEFFICIENTS = {"pace_factor": 1.0, "opponent_strength_factor": 1.0}


def _centred_factors(batch: FeatureBatch, market: str) -> np.ndarray:
    columns = [np.nan_to_num(batch.column(name) - _CENTRES[name], nan=0.0) for name in FACTORS[market]]
    return np.column_stack(columns)


class PaceAdjusted:
    name = "pace_adjusted"
    learned = False

    def defaults(self) -> dict[str, Any]:
        base = RollingAverage().defaults()
        return {market: {**base[market], "factors": list(FACTORS[market]),
                         "coefficients": [_DEFAULT_COEFFICIENTS.get(name, 0.0) for name in FACTORS[market]]}
                for market in MARKETS}

    def fit(self, history: History) -> dict[str, Any]:
        base = RollingAverage().fit(history)
        params = {}
        for market in MARKETS:
            p = base[market]
            form, _ = blend(history.features, market, p["weights"], p["intercept"], p["prior"])
            seen = has_history(history.features, market)
            design = form[seen, None] * _centred_factors(history.features, market)[seen]
            residual = history.outcomes[market][seen] - form[seen]
            coefficients = least_absolute_deviations(design, residual, ridge=1e-2)
            params[market] = {**p, "prior": fitted_prior(history.features, history.outcomes[market], market),
                              "factors": list(FACTORS[market]),
                              "coefficients": [round(float(c), 6) for c in coefficients]}
        return params

    def load(self, params: dict[str, Any]) -> "PaceAdjustedModel":
        return PaceAdjustedModel(params)


class PaceAdjustedModel:
    def __init__(self, params: dict[str, Any]):
        self.params = params

    def estimate(self, batch: FeatureBatch) -> dict[str, MarketEstimate]:
        return {market: self._market(batch, market) for market in self.params}

    def _market(self, batch: FeatureBatch, market: str) -> MarketEstimate:
        p = self.params[market]
        form, contributions = blend(batch, market, p["weights"], p["intercept"], p.get("prior", DEFAULT_PRIORS[market]))
        adjustments = form[:, None] * _centred_factors(batch, market) * np.asarray(p["coefficients"])
        for k, name in enumerate(p["factors"]):
            contributions[:, CONTRIBUTION_INDEX[name]] += adjustments[:, k]
        values = np.maximum(form + adjustments.sum(axis=1), 0.0)
        return MarketEstimate(values, contributions)
