"""A ModelSet: one loaded version of every prediction system, predicting whole batches.

Built from stored artifacts (shared.predictions.model_registry) or, before any training, from
`ModelSet.untrained()`: rolling_average and pace_adjusted run on their documented defaults, the
ensemble weighs those two equally, and similar_players and gradient_boosted are skipped — they
need history — with the reason in `skipped`. Each Prediction names the model version it came from."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np

from shared.pipeline.phase4.features import FEATURE_VERSION
from shared.predictions.systems.base import LoadedModel, MarketEstimate
from shared.predictions.systems.catalog import COMPONENT_SYSTEMS, ENSEMBLE, MODEL_CODE_VERSION, SYSTEMS
from shared.predictions.systems.data import CONTRIBUTION_NAMES, MARKETS, FeatureBatch, batch_from_rows
from shared.predictions.systems.ensemble import EnsembleModel, default_params
from shared.predictions.systems.intervals import default_interval, interval_bounds

TOP_FEATURES = 3
ARTIFACT_FORMAT = "sportsflow-model/1"
UNTRAINED_VERSION = f"defaults-{MODEL_CODE_VERSION}"


@dataclass(frozen=True)
class Prediction:
    game_date: date
    game_id: str
    player_id: str
    market: str
    system: str
    model_version: str
    feature_version: str
    value: float
    interval_low: float
    interval_high: float
    top_features: tuple[tuple[str, float], ...]


_PREDICTION_FIELDS = tuple(f.name for f in fields(Prediction))


def _new_prediction(*values: Any) -> Prediction:
    """Prediction(*values) without the frozen __init__'s eleven object.__setattr__ calls (a third of
    a batch's time): one __dict__ per instance. The instance is the same frozen Prediction."""
    prediction = object.__new__(Prediction)
    object.__setattr__(prediction, "__dict__", dict(zip(_PREDICTION_FIELDS, values)))
    return prediction


class LookAheadError(ValueError):
    """A model trained on a date's outcomes was asked to predict that date (or an earlier one)."""


@dataclass(frozen=True)
class _Loaded:
    version: str
    model: LoadedModel | EnsembleModel
    intervals: dict[str, dict[str, float]]
    trained_through: date | None


class ModelSet:
    def __init__(self, loaded: dict[str, _Loaded], skipped: dict[str, str]):
        self._loaded = loaded
        self.skipped: dict[str, str] = dict(skipped)
        self.versions: dict[str, str] = {system: item.version for system, item in loaded.items()}

    # --- construction --------------------------------------------------------------------
    @classmethod
    def untrained(cls) -> "ModelSet":
        return cls.from_artifacts({})

    @classmethod
    def from_artifacts(cls, artifacts: Mapping[str, tuple[str, Mapping[str, Any]]]) -> "ModelSet":
        """artifacts: system → (version, parsed artifact). A system without one falls back to its
        defaults when it has them, and is skipped (reason in `skipped`) when it is learned."""
        loaded, skipped = {}, {}
        for name, system in COMPONENT_SYSTEMS.items():
            if name in artifacts:
                version, artifact = artifacts[name]
                loaded[name] = _from_artifact(version, artifact, system.load)
            elif (defaults := system.defaults()) is not None:
                loaded[name] = _Loaded(UNTRAINED_VERSION, system.load(defaults),
                                       {m: default_interval(m) for m in MARKETS}, None)
            else:
                skipped[name] = (f"{name} is learned and has no trained version yet: "
                                 "run `sportsflow models train --through D` (D: the last date with outcomes)")
        if ENSEMBLE in artifacts:
            version, artifact = artifacts[ENSEMBLE]
            loaded[ENSEMBLE] = _from_artifact(version, artifact, EnsembleModel)
        else:
            loaded[ENSEMBLE] = _Loaded(UNTRAINED_VERSION, EnsembleModel(default_params(tuple(loaded))),
                                       {m: default_interval(m) for m in MARKETS}, None)
        return cls({s: loaded[s] for s in SYSTEMS if s in loaded}, skipped)

    @property
    def trained_through(self) -> dict[str, date | None]:
        return {system: item.trained_through for system, item in self._loaded.items()}

    # --- prediction ----------------------------------------------------------------------
    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list["Prediction"]:
        """One Prediction per (row, market, system), for ml_feature_store_v2 rows as dicts."""
        if not rows:
            return []
        batch = batch_from_rows(rows)
        self.check_no_look_ahead(batch)
        estimates = self.estimate(batch)
        return _predictions(batch, estimates, self._loaded)

    def estimate(self, batch: FeatureBatch) -> dict[str, dict[str, MarketEstimate]]:
        """system → market → estimate, every system over the whole batch at once."""
        estimates = {system: item.model.estimate(batch) for system, item in self._loaded.items()
                     if system != ENSEMBLE}
        if ENSEMBLE in self._loaded:
            estimates[ENSEMBLE] = self._loaded[ENSEMBLE].model.combine(estimates)
        return estimates

    def intervals(self, system: str, market: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return interval_bounds(values, self._loaded[system].intervals[market])

    def check_no_look_ahead(self, batch: FeatureBatch) -> None:
        """LookAheadError when a model was trained on outcomes of a date in the batch (or later)."""
        first = batch.game_dates.min().astype(object)
        for system, item in self._loaded.items():
            if item.trained_through is not None and item.trained_through >= first:
                raise LookAheadError(
                    f"{system} version {item.version} was trained on outcomes through {item.trained_through} "
                    f"and cannot predict {first}: load versions trained before it "
                    "(shared.predictions.model_registry.load_for_date)")


def _from_artifact(version: str, artifact: Mapping[str, Any], load) -> _Loaded:
    if artifact.get("format") != ARTIFACT_FORMAT:
        raise ValueError(f"artifact {version} has format {artifact.get('format')!r}, expected {ARTIFACT_FORMAT}")
    metadata = artifact["metadata"]
    if metadata["feature_version"] != FEATURE_VERSION:
        raise ValueError(f"{artifact['system']} version {version} was trained on features "
                         f"{metadata['feature_version']}, the feature store has {FEATURE_VERSION}: retrain it")
    through = date.fromisoformat(metadata["training_window"]["through"])
    return _Loaded(version, load(artifact["params"]), artifact["intervals"], through)


_NAMES = np.array(CONTRIBUTION_NAMES, dtype=object)


def _top_features(contributions: np.ndarray) -> list[tuple[tuple[str, float], ...]]:
    """Each row's TOP_FEATURES largest contributions by size, largest first (non-zero ones only)."""
    size = np.abs(contributions)
    rows = np.arange(len(size))
    top = np.empty((len(size), TOP_FEATURES), dtype=np.int64)
    for k in range(TOP_FEATURES):              # k passes of argmax beat a sort of every row
        top[:, k] = size.argmax(axis=1)
        size[rows, top[:, k]] = -1.0
    amounts = np.round(np.take_along_axis(contributions, top, axis=1), 4)
    result = list(map(tuple, map(zip, _NAMES[top].tolist(), amounts.tolist())))
    for i in np.flatnonzero((amounts == 0.0).any(axis=1)).tolist():
        result[i] = tuple(pair for pair in result[i] if pair[1] != 0.0)
    return result


def _predictions(batch: FeatureBatch, estimates: dict[str, dict[str, MarketEstimate]],
                 loaded: dict[str, _Loaded]) -> list[Prediction]:
    """Built column by column (one market and system over every row at a time)."""
    game_dates = batch.game_dates.astype(object).tolist()
    out: list[Prediction] = []
    for market in MARKETS:
        for system, by_market in estimates.items():
            estimate = by_market[market]
            low, high = interval_bounds(estimate.values, loaded[system].intervals[market])
            out.extend(map(_new_prediction, game_dates, batch.game_ids, batch.player_ids, repeat(market),
                           repeat(system), repeat(loaded[system].version), repeat(FEATURE_VERSION),
                           np.round(estimate.values, 3).tolist(), np.round(low, 3).tolist(),
                           np.round(high, 3).tolist(), _top_features(estimate.contributions)))
    return out
