"""Feature rows as one float matrix (NaN = unknown): the form every prediction system computes on.

A `FeatureBatch` is what a system predicts from (ml_feature_store_v2 rows, FEATURE_NAMES order);
a `History` adds what actually happened (player_game_summary) for training and evaluation."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from shared.pipeline.phase4.features import FEATURE_NAMES, FEATURE_VERSION

MARKETS: tuple[str, ...] = ("points", "rebounds", "assists", "threes")
# the player_game_summary column each market is settled on
OUTCOME_COLUMNS: dict[str, str] = {"points": "points", "rebounds": "rebounds", "assists": "assists", "threes": "fg3m"}
# the market's per-game averages in ml_feature_store_v2, most recent first (points also has last 5)
RECENT_AVERAGES: dict[str, tuple[str, ...]] = {
    "points": ("points_avg_last5", "points_avg_last10", "points_avg_season"),
    "rebounds": ("rebounds_avg_last10", "rebounds_avg_season"),
    "assists": ("assists_avg_last10", "assists_avg_season"),
    "threes": ("threes_avg_last10", "threes_avg_season"),
}
LINE_FEATURES: dict[str, str] = {market: f"{market}_line" for market in MARKETS}
SEASON_AVERAGE: dict[str, str] = {market: f"{market}_avg_season" for market in MARKETS}
LAST10_AVERAGE: dict[str, str] = {market: f"{market}_avg_last10" for market in MARKETS}

# Contributions live in one space shared by every system, so the ensemble can add them up:
# the features, then what is not a feature (a prior for players without history, the
# similar-player adjustment).
PRIOR = "prior_for_new_player"
SIMILAR_PLAYERS_ADJUSTMENT = "similar_players_adjustment"
CONTRIBUTION_NAMES: tuple[str, ...] = FEATURE_NAMES + (PRIOR, SIMILAR_PLAYERS_ADJUSTMENT)
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
CONTRIBUTION_INDEX: dict[str, int] = {name: i for i, name in enumerate(CONTRIBUTION_NAMES)}


class FeatureVersionMismatch(ValueError):
    """A row was built with a different feature list than the models know."""


@dataclass(frozen=True)
class FeatureBatch:
    values: np.ndarray            # (rows, len(FEATURE_NAMES)) float64, NaN = unknown
    game_dates: np.ndarray        # datetime64[D]
    game_ids: tuple[str, ...]
    player_ids: tuple[str, ...]

    def __len__(self) -> int:
        return self.values.shape[0]

    def column(self, name: str) -> np.ndarray:
        return self.values[:, FEATURE_INDEX[name]]

    def take(self, selector: np.ndarray) -> "FeatureBatch":
        indices = np.flatnonzero(selector) if selector.dtype == bool else selector
        return FeatureBatch(self.values[indices], self.game_dates[indices],
                            tuple(self.game_ids[i] for i in indices), tuple(self.player_ids[i] for i in indices))


def batch_from_rows(rows: Sequence[Mapping[str, Any]]) -> FeatureBatch:
    """ml_feature_store_v2 rows (dicts, as `warehouse.query` returns them) → one matrix."""
    for row in rows:
        version = row.get("feature_version", FEATURE_VERSION)
        if version != FEATURE_VERSION:
            raise FeatureVersionMismatch(
                f"row of player {row.get('player_id')} on {row.get('game_date')} has feature_version {version!r}; "
                f"the prediction systems are built for {FEATURE_VERSION!r}: retrain them on the new features "
                "(`sportsflow models train`) after deploying code that knows them")
    values = np.array([[row.get(name) for name in FEATURE_NAMES] for row in rows], dtype=float)
    values = values.reshape(len(rows), len(FEATURE_NAMES))
    game_dates = np.array([_as_date(row["game_date"]) for row in rows], dtype="datetime64[D]")
    return FeatureBatch(values, game_dates, tuple(str(row["game_id"]) for row in rows),
                        tuple(str(row["player_id"]) for row in rows))


@dataclass(frozen=True)
class History:
    """Feature rows with their actual outcomes, in date order: what systems are trained on."""
    features: FeatureBatch
    outcomes: dict[str, np.ndarray]   # market → actual value per row (NaN when not recorded)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dates(self) -> np.ndarray:
        return self.features.game_dates

    def take(self, selector: np.ndarray) -> "History":
        return History(self.features.take(selector), {m: v[selector] for m, v in self.outcomes.items()})

    def through(self, day: date) -> "History":
        return self.take(self.dates <= np.datetime64(day, "D"))

    def between(self, first: date, last: date) -> "History":
        return self.take((self.dates >= np.datetime64(first, "D")) & (self.dates <= np.datetime64(last, "D")))

    def fingerprint(self) -> str:
        """A hash of exactly the data a model would be trained on."""
        import hashlib
        digest = hashlib.sha256()
        digest.update(np.ascontiguousarray(self.features.values).tobytes())
        digest.update(self.features.game_dates.astype("int64").tobytes())
        digest.update("|".join(self.features.player_ids).encode())
        for market in MARKETS:
            digest.update(np.ascontiguousarray(self.outcomes[market]).tobytes())
        return digest.hexdigest()


def history_from_rows(rows: Sequence[Mapping[str, Any]]) -> History:
    """Rows carrying both the features and `actual_<market>` columns."""
    features = batch_from_rows(rows)
    outcomes = {market: np.array([row.get(f"actual_{market}") for row in rows], dtype=float).reshape(len(rows))
                for market in MARKETS}
    return History(features, outcomes)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
