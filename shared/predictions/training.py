"""Training every prediction system on the history through a date.

The history is ml_feature_store_v2 joined to what happened (player_game_summary), for dates up
to and including `through` only; the models trained on it predict dates after `through`.
Each component system is fit twice: on the earlier 80% of the dates, to predict the later 20%
it has not seen — those held-out predictions give its interval (residual quantiles), its
metrics and the ensemble's weights — and then on all of it, which is the artifact's model."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from shared.pipeline.phase4.features import FEATURE_NAMES, FEATURE_VERSION
from shared.ports.warehouse import Warehouse
from shared.predictions.systems.catalog import COMPONENT_SYSTEMS, ENSEMBLE, MODEL_CODE_VERSION, code_fingerprint
from shared.predictions.systems.data import MARKETS, OUTCOME_COLUMNS, History, history_from_rows
from shared.predictions.systems.ensemble import EnsembleModel, fit_weights
from shared.predictions.systems.intervals import fit_interval
from shared.predictions.systems.model_set import ARTIFACT_FORMAT

CALIBRATION_SHARE = 0.2
MIN_TRAINING_ROWS = 200
MIN_TRAINING_DATES = 5

HISTORY_SQL = f"""
SELECT f.game_date, f.game_id, f.player_id, f.feature_version,
       {", ".join(f"f.{name}" for name in FEATURE_NAMES)},
       {", ".join(f"p.{column} AS actual_{market}" for market, column in OUTCOME_COLUMNS.items())}
FROM nba_precompute.ml_feature_store_v2 AS f
JOIN nba_analytics.player_game_summary AS p ON p.game_date = f.game_date AND p.player_id = f.player_id
WHERE f.game_date >= @first AND f.game_date <= @through
ORDER BY f.game_date, f.game_id, f.player_id
"""


class NotEnoughHistory(ValueError):
    pass


def load_history(warehouse: Warehouse, through: date, first: date = date(1900, 1, 1)) -> History:
    """Feature rows with their outcomes for first ≤ game_date ≤ through, in date order."""
    return history_from_rows(warehouse.query(HISTORY_SQL, {"first": first, "through": through}))


@dataclass(frozen=True)
class HeldOut:
    """Where the history is split: components fit before `first_date` predict from it on."""
    fit_part: History
    check_part: History
    first_date: date


def split_for_calibration(history: History) -> HeldOut:
    dates = np.unique(history.dates)
    if len(history) < MIN_TRAINING_ROWS or len(dates) < MIN_TRAINING_DATES:
        raise NotEnoughHistory(f"{len(history)} rows over {len(dates)} dates with outcomes; training needs at "
                               f"least {MIN_TRAINING_ROWS} rows over {MIN_TRAINING_DATES} dates — backfill more "
                               "dates (`sportsflow backfill`) or train through a later date")
    cut = dates[min(len(dates) - 1, max(1, int(round(len(dates) * (1 - CALIBRATION_SHARE)))))]
    return HeldOut(history.take(history.dates < cut), history.take(history.dates >= cut), cut.astype(object))


def train_systems(history: History, through: date) -> dict[str, dict[str, Any]]:
    """system → artifact (plain JSON-able dict) for every system, trained on `history` (which must
    end on or before `through`)."""
    if len(history) and history.dates.max() > np.datetime64(through, "D"):
        raise ValueError(f"history runs past {through}: train only on dates up to it")
    held_out = split_for_calibration(history)
    check = held_out.check_part
    early_estimates, artifacts = {}, {}
    for name, system in COMPONENT_SYSTEMS.items():
        early_estimates[name] = system.load(system.fit(held_out.fit_part)).estimate(check.features)
        artifacts[name] = _artifact(name, system.fit(history), early_estimates[name], history, held_out, through)
    predictions = {name: {m: e[m].values for m in MARKETS} for name, e in early_estimates.items()}
    ensemble_params = fit_weights(predictions, check.outcomes)
    ensemble_estimate = EnsembleModel(ensemble_params).combine(early_estimates)
    artifacts[ENSEMBLE] = _artifact(ENSEMBLE, ensemble_params, ensemble_estimate, history, held_out, through)
    return artifacts


def _artifact(system: str, params: dict[str, Any], held_out_estimate, history: History, held_out: HeldOut,
              through: date) -> dict[str, Any]:
    check = held_out.check_part
    intervals = {m: fit_interval(held_out_estimate[m].values, check.outcomes[m]) for m in MARKETS}
    return {
        "format": ARTIFACT_FORMAT,
        "system": system,
        "params": params,
        "intervals": intervals,
        "metadata": {
            "training_window": {"first": str(history.dates.min().astype(object)), "through": through.isoformat()},
            "training_rows": len(history),
            "held_out_from": held_out.first_date.isoformat(),
            "feature_names": list(FEATURE_NAMES),
            "feature_version": FEATURE_VERSION,
            "code_version": MODEL_CODE_VERSION,
            "code_fingerprint": code_fingerprint(),
            "metrics": {m: _held_out_metrics(held_out_estimate[m].values, check.outcomes[m]) for m in MARKETS},
        },
    }


def _held_out_metrics(predicted: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """MAE and bias on the held-out dates (the interval is fit there, so its coverage is not
    measured there: `sportsflow evaluate` measures it on later dates)."""
    known = ~np.isnan(actual)
    predicted, actual = predicted[known], actual[known]
    return {"held_out_rows": int(known.sum()), "mae": round(float(np.mean(np.abs(predicted - actual))), 4),
            "bias": round(float(np.mean(predicted - actual)), 4)}
