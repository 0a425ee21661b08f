"""No look-ahead: a model that predicts D never learns from D's outcomes, or later ones."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from shared.predictions import model_registry
from shared.predictions.systems import LookAheadError
from shared.predictions.systems.catalog import COMPONENT_SYSTEMS
from tests.predictions.season import feature_rows, set_outcomes


def _values(predictions):
    return {(p.player_id, p.market, p.system): (p.value, p.interval_low, p.interval_high, p.top_features)
            for p in predictions}


def test_changing_the_predicted_dates_outcomes_leaves_its_predictions_unchanged(services, season):
    day = season.day(25)
    before = model_registry.train(services, day - timedelta(days=1))
    predicted = _values(model_registry.load_current(services).predict(feature_rows(services.warehouse, day)))

    for later in season.days[25:]:
        set_outcomes(services.warehouse, later, points=60)
    after = model_registry.train(services, day - timedelta(days=1))
    assert after.versions == before.versions
    assert _values(model_registry.load_current(services).predict(feature_rows(services.warehouse, day))) == predicted


def test_the_same_change_one_day_earlier_does_change_the_models(services, season):
    """The control: the test above could not pass by ignoring the outcomes altogether."""
    day = season.day(25)
    before = model_registry.train(services, day - timedelta(days=1))
    set_outcomes(services.warehouse, day - timedelta(days=1), points=60)
    after = model_registry.train(services, day - timedelta(days=1))
    assert after.versions["gradient_boosted"] != before.versions["gradient_boosted"]
    assert after.versions["ensemble"] != before.versions["ensemble"]


def test_every_system_is_fit_only_on_dates_up_to_the_training_date(services, season, monkeypatch):
    through = season.day(20)
    latest_seen: dict[str, np.datetime64] = {}
    for name, system in COMPONENT_SYSTEMS.items():
        fit = system.fit

        def spy(history, name=name, fit=fit):
            latest_seen[name] = max(latest_seen.get(name, history.dates.min()), history.dates.max())
            return fit(history)
        monkeypatch.setattr(system, "fit", spy)
    model_registry.train(services, through)
    assert set(latest_seen) == set(COMPONENT_SYSTEMS)
    assert all(seen <= np.datetime64(through) for seen in latest_seen.values())


def test_a_model_trained_on_a_dates_outcomes_refuses_to_predict_it(services, season):
    day = season.day(25)
    earlier = model_registry.train(services, day - timedelta(days=1))
    model_registry.train(services, day)
    rows = feature_rows(services.warehouse, day)
    with pytest.raises(LookAheadError, match="load_for_date"):
        model_registry.load_current(services).predict(rows)
    as_of = model_registry.load_for_date(services, day)
    assert as_of.versions == earlier.versions
    assert {p.model_version for p in as_of.predict(rows)} == set(earlier.versions.values())
