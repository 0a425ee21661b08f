"""The five prediction systems through the interface the Phase 5 worker calls."""
from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from shared.pipeline.phase4.features import FEATURE_VERSION
from shared.predictions import model_registry
from shared.predictions.systems import MARKETS, SYSTEMS, FeatureVersionMismatch, ModelSet, Prediction
from shared.predictions.systems.data import CONTRIBUTION_NAMES
from shared.predictions.systems.ensemble import non_negative_least_squares
from tests.predictions.season import feature_rows


def _check_shape(predictions: list[Prediction], rows: list[dict], systems: tuple[str, ...], models: ModelSet):
    assert len(predictions) == len(rows) * len(MARKETS) * len(systems)
    keys = {(p.player_id, p.market, p.system) for p in predictions}
    assert keys == {(str(r["player_id"]), m, s) for r in rows for m in MARKETS for s in systems}
    for p in predictions:
        assert p.model_version == models.versions[p.system]
        assert p.feature_version == FEATURE_VERSION
        assert 0.0 <= p.interval_low <= p.value <= p.interval_high
        assert 1 <= len(p.top_features) <= 3
        assert all(name in CONTRIBUTION_NAMES and amount != 0 for name, amount in p.top_features)
        sizes = [abs(amount) for _, amount in p.top_features]
        assert sizes == sorted(sizes, reverse=True)


def test_before_any_training_the_non_learned_systems_predict_and_the_learned_ones_say_why(services, season):
    models = ModelSet.untrained()
    rows = feature_rows(services.warehouse, season.day(10))
    predictions = models.predict(rows)
    _check_shape(predictions, rows, ("rolling_average", "pace_adjusted", "ensemble"), models)
    assert set(models.skipped) == {"similar_players", "gradient_boosted"}
    assert all("sportsflow models train" in reason for reason in models.skipped.values())
    assert model_registry.load_current(services).versions == models.versions


def test_a_trained_set_predicts_every_market_with_all_five_systems(services, season):
    model_registry.train(services, season.day(24))
    models = model_registry.load_current(services)
    rows = feature_rows(services.warehouse, season.day(25))
    predictions = models.predict(rows)
    assert models.skipped == {} and tuple(models.versions) == SYSTEMS
    _check_shape(predictions, rows, SYSTEMS, models)
    gradient = [p for p in predictions if p.system == "gradient_boosted"]
    assert {name for p in gradient for name, _ in p.top_features} - {"prior_for_new_player"}


def test_a_batch_predicts_what_each_row_alone_predicts(services, season):
    """Vectorised over the batch, yet no row's prediction depends on the others."""
    model_registry.train(services, season.day(24))
    models = model_registry.load_current(services)
    rows = feature_rows(services.warehouse, season.day(25))[:12]
    together = models.predict(rows)
    alone = [p for row in rows for p in models.predict([row])]
    assert sorted(together, key=_key) == sorted(alone, key=_key)


def test_a_players_first_game_gets_the_prior_and_learned_systems_still_answer(services, season):
    model_registry.train(services, season.day(24))
    models = model_registry.load_current(services)
    newcomer = {**feature_rows(services.warehouse, season.day(25))[0], "history_games": 0}
    for name in ("points_avg_last5", "points_avg_last10", "points_avg_season", "rebounds_avg_last10",
                 "rebounds_avg_season", "assists_avg_last10", "assists_avg_season", "threes_avg_last10",
                 "threes_avg_season"):
        newcomer[name] = None
    predictions = models.predict([newcomer])
    rolling = next(p for p in predictions if p.system == "rolling_average" and p.market == "points")
    assert rolling.top_features[0][0] == "prior_for_new_player"
    assert all(np.isfinite(p.value) for p in predictions)


def test_rows_of_another_feature_version_are_refused_with_what_to_do():
    row = {"game_date": date(2025, 1, 15), "game_id": "g", "player_id": 1, "feature_version": "v1.0"}
    with pytest.raises(FeatureVersionMismatch, match="retrain"):
        ModelSet.untrained().predict([row])


def test_non_negative_least_squares_finds_the_constrained_optimum():
    rng = np.random.default_rng(3)
    design = rng.normal(size=(200, 3))
    target = design @ np.array([0.7, -0.4, 0.3]) + rng.normal(scale=0.01, size=200)
    weights = non_negative_least_squares(design, target)
    assert weights[1] == 0.0 and (weights >= 0).all()
    assert weights[0] == pytest.approx(0.7, abs=0.05) and weights[2] == pytest.approx(0.3, abs=0.05)


def _key(p: Prediction):
    return (p.player_id, p.market, p.system)
