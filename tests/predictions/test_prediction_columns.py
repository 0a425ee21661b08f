"""The columnar batch path: `predict_columns` holds exactly what the systems estimated, `predict`
is the same values as objects, and the worker's table rows from columns are the rows it wrote
from Prediction objects."""
from __future__ import annotations

import json

import numpy as np
import pytest

from shared.predictions import model_registry
from shared.predictions.batches import Batch
from shared.predictions.systems import MARKETS, SYSTEMS, Prediction
from shared.predictions.systems.data import CONTRIBUTION_NAMES, batch_from_rows
from shared.predictions.worker import prediction_rows
from tests.predictions.season import feature_rows


@pytest.fixture
def trained(services, season):
    model_registry.train(services, season.day(24))
    return model_registry.load_current(services), feature_rows(services.warehouse, season.day(25))


def _largest_by_size(contributions: np.ndarray) -> tuple[tuple[str, float], ...]:
    """The reference: the three largest |contributions| (first one wins a tie), zeros left out."""
    order = sorted(range(len(contributions)), key=lambda j: -abs(contributions[j]))[:3]
    picked = ((CONTRIBUTION_NAMES[j], float(np.round(contributions[j], 4))) for j in order)
    return tuple((name, amount) for name, amount in picked if amount != 0.0)


def test_columns_hold_each_systems_estimate_its_interval_and_its_largest_contributions(trained):
    models, rows = trained
    columns = models.predict_columns(rows)
    estimates = models.estimate(batch_from_rows(rows))
    assert columns.blocks == len(MARKETS) * len(SYSTEMS) and columns.rows == len(rows)
    assert list(zip(columns.markets, columns.systems)) == [(m, s) for m in MARKETS for s in SYSTEMS]
    for b, (market, system) in enumerate(zip(columns.markets, columns.systems)):
        estimate = estimates[system][market]
        low, high = models.intervals(system, market, estimate.values)
        assert columns.model_versions[b] == models.versions[system]
        np.testing.assert_array_equal(columns.values[b], np.round(estimate.values, 3))
        np.testing.assert_array_equal(columns.interval_low[b], np.round(low, 3))
        np.testing.assert_array_equal(columns.interval_high[b], np.round(high, 3))
        assert columns.top_features(b) == [_largest_by_size(c) for c in estimate.contributions]


def test_predict_is_predict_columns_as_objects_bit_for_bit(trained):
    models, rows = trained
    columns, predictions = models.predict_columns(rows), models.predict(rows)
    assert len(predictions) == len(columns) == len(rows) * 20
    for i, p in enumerate(predictions):
        b, r = divmod(i, columns.rows)
        assert isinstance(p, Prediction)
        assert (p.game_date, p.game_id, p.player_id) == (rows[r]["game_date"], rows[r]["game_id"],
                                                         str(rows[r]["player_id"]))
        assert (p.market, p.system, p.model_version) == (columns.markets[b], columns.systems[b],
                                                         columns.model_versions[b])
        assert (p.value, p.interval_low, p.interval_high) == (
            columns.values[b, r], columns.interval_low[b, r], columns.interval_high[b, r])
        assert p.top_features == columns.top_features(b)[r]


def _rows_from_objects(batch: Batch, feature_row: dict, predictions: list[Prediction]) -> list[dict]:
    """The worker's table rows as they were built from Prediction objects."""
    line = {"points": "points_line", "rebounds": "rebounds_line", "assists": "assists_line", "threes": "threes_line"}
    return [{
        "game_date": p.game_date, "game_id": p.game_id, "player_id": int(p.player_id),
        "player_name": feature_row["player_name"], "team_abbr": feature_row["team_abbr"], "market": p.market,
        "system": p.system, "model_version": p.model_version, "feature_version": p.feature_version,
        "feature_data_version": batch.feature_data_version, "batch_id": batch.batch_id,
        "prediction": round(float(p.value), 4), "interval_low": round(float(p.interval_low), 4),
        "interval_high": round(float(p.interval_high), 4),
        "line": None if feature_row.get(line[p.market]) is None else float(feature_row[line[p.market]]),
        "top_features": json.dumps([[name, round(float(value), 4)] for name, value in p.top_features]),
    } for p in predictions]


@pytest.mark.parametrize("player", [0, 7])
def test_the_workers_rows_from_columns_are_the_rows_from_objects(trained, season, player):
    models, rows = trained
    one = [rows[player]]
    batch = Batch(batch_id="b1", game_date=season.day(25), generation=1, feature_data_version="fdv",
                  model_versions=models.versions, players=[])
    written = prediction_rows(batch, one[0], models.predict_columns(one))
    expected = _rows_from_objects(batch, one[0], models.predict(one))
    assert [list(r.items()) for r in written] == [list(r.items()) for r in expected]  # same keys, order, values
