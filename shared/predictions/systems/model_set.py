"""A ModelSet: one loaded version of every prediction system, predicting whole batches.

Built from stored artifacts (shared.predictions.model_registry) or, before any training, from
`ModelSet.untrained()`: rolling_average and pace_adjusted run on their documented defaults, the
ensemble weighs those two equally, and similar_players and gradient_boosted are skipped — they
need history — with the reason in `skipped`. Each Prediction names the model version it came from.

`predict_columns(rows)` is the batch path (numpy arrays per field, shared.predictions.systems.columns);
`predict(rows)` turns those columns into one frozen Prediction per value."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from shared.pipeline.phase4.features import FEATURE_VERSION
from shared.predictions.systems.base import LoadedModel, MarketEstimate
from shared.predictions.systems.catalog import COMPONENT_SYSTEMS, ENSEMBLE, MODEL_CODE_VERSION, SYSTEMS
from shared.predictions.systems.columns import TOP_FEATURES, Prediction, PredictionColumns, top_contributions
from shared.predictions.systems.data import MARKETS, FeatureBatch, batch_from_rows
from shared.predictions.systems.ensemble import EnsembleModel, default_params
from shared.predictions.systems.intervals import default_interval, interval_bounds
from shared.predictions.systems.single_thread import single_threaded

ARTIFACT_FORMAT = "sportsflow-model/1"
UNTRAINED_VERSION = f"defaults-{MODEL_CODE_VERSION}"


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
    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list[Prediction]:
        """One Prediction per (row, market, system), for ml_feature_store_v2 rows as dicts
        (`predict_columns(rows).to_predictions()`)."""
        return self.predict_columns(rows).to_predictions() if rows else []

    def predict_columns(self, rows: Sequence[Mapping[str, Any]]) -> PredictionColumns:
        """Every (row, market, system) prediction as arrays, one (market, system) block at a time."""
        batch = batch_from_rows(rows)
        if len(batch):
            self.check_no_look_ahead(batch)
        return _columns(batch, self.estimate(batch), self._loaded)

    def estimate(self, batch: FeatureBatch) -> dict[str, dict[str, MarketEstimate]]:
        """system → market → estimate, every system over the whole batch at once, on one thread."""
        with single_threaded():
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


def _columns(batch: FeatureBatch, estimates: dict[str, dict[str, MarketEstimate]],
             loaded: dict[str, _Loaded]) -> PredictionColumns:
    blocks = [(market, system) for market in MARKETS for system in estimates]
    shape = (len(blocks), len(batch))
    values, low, high = np.empty(shape), np.empty(shape), np.empty(shape)
    top_indices = np.empty(shape + (TOP_FEATURES,), dtype=np.int64)
    top_amounts = np.empty(shape + (TOP_FEATURES,))
    for b, (market, system) in enumerate(blocks):
        estimate = estimates[system][market]
        block_low, block_high = interval_bounds(estimate.values, loaded[system].intervals[market])
        values[b], low[b], high[b] = estimate.values, block_low, block_high
        top_contributions(estimate.contributions, top_indices[b], top_amounts[b])
    for rounded in (values, low, high):  # elementwise: the same as block by block, one call each
        np.round(rounded, 3, out=rounded)
    return PredictionColumns(
        game_dates=batch.game_dates, game_ids=batch.game_ids, player_ids=batch.player_ids,
        markets=tuple(m for m, _ in blocks), systems=tuple(s for _, s in blocks),
        model_versions=tuple(loaded[s].version for _, s in blocks), feature_version=FEATURE_VERSION,
        values=values, interval_low=low, interval_high=high,
        top_feature_indices=top_indices, top_feature_amounts=top_amounts)
