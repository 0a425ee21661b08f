"""With trained models, one `run` predicts every player with all five systems, each row naming the
model version it used; a model trained on the date's own outcomes never predicts that date."""
from __future__ import annotations

from datetime import date, timedelta

from shared.predictions import model_registry
from shared.predictions.systems import SYSTEMS
from shared.predictions.tables import PLAYER_PROP_PREDICTIONS
from tests.exactly_once.harness import open_pipeline

DAY = date(2025, 1, 15)
HISTORY = [DAY - timedelta(days=n) for n in (5, 4, 3, 2, 1)]  # training needs 5 dates


def _versions_in_table(pipeline) -> dict[str, set[str]]:
    rows = pipeline.services.warehouse.query(
        f"SELECT DISTINCT system, model_version FROM {PLAYER_PROP_PREDICTIONS.qualified_name} WHERE game_date = @d",
        {"d": DAY})
    found: dict[str, set[str]] = {}
    for row in rows:
        found.setdefault(row["system"], set()).add(row["model_version"])
    return found


def test_five_trained_systems_predict_every_player_naming_their_versions(tmp_path):
    with open_pipeline(tmp_path / "home", predictions_enabled=False) as history:
        for day in HISTORY:
            assert history.run_date(day, checksums=False).finished
    with open_pipeline(tmp_path / "home") as pipeline:
        trained = model_registry.train(pipeline.services, HISTORY[-1])
        current = model_registry.current_versions(pipeline.services)
        assert set(current) == set(SYSTEMS), trained
        report = pipeline.run_date(DAY)
        assert report.finished and report.predictions["complete"], report.missing
        assert _versions_in_table(pipeline) == {system: {version} for system, version in current.items()}
        players = report.predictions["predicted"]
        table = {t.table: t.rows for t in report.tables}[PLAYER_PROP_PREDICTIONS.qualified_name]
        assert table == players * len(SYSTEMS) * 4  # every player, system and market, once

        # Retrained on the date's own outcomes (after the slate was played): now current, but no look-ahead:
        model_registry.train(pipeline.services, DAY)
        assert model_registry.current_versions(pipeline.services) != current
        again = pipeline.run_date(DAY)
        assert again.predictions["generation"] == 1, "... so D keeps the versions trained before it"
        assert _versions_in_table(pipeline) == {system: {version} for system, version in current.items()}
