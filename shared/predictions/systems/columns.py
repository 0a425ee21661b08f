"""A batch's predictions as columns: one numpy array per field, what consumers of whole batches
read (the worker's table rows, benchmarks). `PredictionColumns.to_predictions()` gives the same
frozen `Prediction` objects, in the same order, for callers that want one object per value.

Layout: block b is one (market, system) pair — markets outer, systems inner, as `ModelSet`
lists them — over every row of the batch; element [b, r] is row r's prediction in block b."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from itertools import repeat
from typing import Any

import numpy as np

from shared.predictions.systems.data import CONTRIBUTION_NAMES

TOP_FEATURES = 3
_NAMES = np.array(CONTRIBUTION_NAMES, dtype=object)


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
    """Prediction(*values) without the frozen __init__'s eleven object.__setattr__ calls: one
    __dict__ per instance. The instance is the same frozen Prediction."""
    prediction = object.__new__(Prediction)
    object.__setattr__(prediction, "__dict__", dict(zip(_PREDICTION_FIELDS, values)))
    return prediction


@dataclass(frozen=True)
class PredictionColumns:
    game_dates: np.ndarray            # (rows,) datetime64[D]
    game_ids: tuple[str, ...]         # (rows,)
    player_ids: tuple[str, ...]       # (rows,)
    markets: tuple[str, ...]          # (blocks,)
    systems: tuple[str, ...]          # (blocks,)
    model_versions: tuple[str, ...]   # (blocks,)
    feature_version: str
    values: np.ndarray                # (blocks, rows), rounded to 3 decimals
    interval_low: np.ndarray          # (blocks, rows), rounded to 3 decimals
    interval_high: np.ndarray         # (blocks, rows), rounded to 3 decimals
    top_feature_indices: np.ndarray   # (blocks, rows, TOP_FEATURES) into CONTRIBUTION_NAMES, largest first
    top_feature_amounts: np.ndarray   # (blocks, rows, TOP_FEATURES) rounded to 4; 0.0 = no such feature

    @property
    def rows(self) -> int:
        return len(self.game_ids)

    @property
    def blocks(self) -> int:
        return len(self.markets)

    def __len__(self) -> int:
        return self.rows * self.blocks

    def top_features(self, block: int) -> list[tuple[tuple[str, float], ...]]:
        """Each row's top features in one block as (name, contribution) pairs, zero ones left out."""
        amounts = self.top_feature_amounts[block]
        pairs = list(map(tuple, map(zip, _NAMES[self.top_feature_indices[block]].tolist(), amounts.tolist())))
        for i in np.flatnonzero((amounts == 0.0).any(axis=1)).tolist():
            pairs[i] = tuple(pair for pair in pairs[i] if pair[1] != 0.0)
        return pairs

    def to_predictions(self) -> list[Prediction]:
        game_dates = self.game_dates.astype(object).tolist()
        out: list[Prediction] = []
        for b in range(self.blocks):
            out.extend(map(_new_prediction, game_dates, self.game_ids, self.player_ids, repeat(self.markets[b]),
                           repeat(self.systems[b]), repeat(self.model_versions[b]), repeat(self.feature_version),
                           self.values[b].tolist(), self.interval_low[b].tolist(), self.interval_high[b].tolist(),
                           self.top_features(b)))
        return out


def top_contributions(contributions: np.ndarray, indices_out: np.ndarray, amounts_out: np.ndarray) -> None:
    """Each row's TOP_FEATURES largest contributions by size, largest first, into the two
    (rows × TOP_FEATURES) outputs (amounts rounded to 4 decimals)."""
    size = np.abs(contributions)
    rows = np.arange(len(size))
    for k in range(TOP_FEATURES):              # k passes of argmax beat a sort of every row
        indices_out[:, k] = size.argmax(axis=1)
        size[rows, indices_out[:, k]] = -1.0
    amounts_out[:] = np.round(np.take_along_axis(contributions, indices_out, axis=1), 4)
