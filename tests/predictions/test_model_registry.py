"""The model registry: create-only content-addressed artifacts, deterministic training,
current versions that only move forward, artifacts that round-trip to identical predictions."""
from __future__ import annotations

import json
import re
from pathlib import Path

from shared.predictions import model_registry
from shared.predictions.systems import SYSTEMS, ModelSet
from shared.predictions.training import load_history, train_systems
from tests.predictions.conftest import services_on
from tests.predictions.season import feature_rows, set_outcomes, write_season

REPO = Path(__file__).resolve().parents[2]


def _artifacts(services) -> dict[str, bytes]:
    return {o.key: services.evidence.get(o.key) for o in services.evidence.list("models/")}


def test_artifacts_are_stored_under_their_content_hash_with_metadata(services, season):
    result = model_registry.train(services, season.day(20))
    for system, version in result.versions.items():
        (stored,) = [v for v in model_registry.list_versions(services, system) if v["version"] == version]
        assert stored["key"] == f"models/{system}/{stored['sha256']}.json" and stored["sha256"].startswith(version)
        head = services.evidence.head(stored["key"])
        assert head.sha256 == stored["sha256"] and head.retain_until > services.documents.now()
        artifact = model_registry.read_artifact(services, system, version)
        metadata = artifact["metadata"]
        assert metadata["training_window"]["through"] == season.day(20).isoformat()
        assert metadata["feature_version"] == "v2.0" and len(metadata["feature_names"]) == 34
        assert set(metadata["metrics"]) == {"points", "rebounds", "assists", "threes"}
        assert metadata["code_version"] and metadata["code_fingerprint"]


def test_training_twice_on_the_same_data_gives_the_same_versions_even_in_another_home(services, season, tmp_path):
    first = model_registry.train(services, season.day(20))
    again = model_registry.train(services, season.day(20))
    assert again.reused and again.versions == first.versions

    elsewhere = services_on(tmp_path / "elsewhere")
    try:
        write_season(elsewhere.warehouse)
        independent = model_registry.train(elsewhere, season.day(20))
    finally:
        elsewhere.close()
    assert not independent.reused and independent.versions == first.versions


def test_a_retrain_never_overwrites_an_earlier_artifact(services, season):
    first = model_registry.train(services, season.day(20))
    stored = _artifacts(services)
    set_outcomes(services.warehouse, season.day(19), points=40)         # corrected data, same window
    corrected = model_registry.train(services, season.day(20))
    later = model_registry.train(services, season.day(24))               # more data
    assert corrected.versions["gradient_boosted"] != first.versions["gradient_boosted"]
    assert later.versions["gradient_boosted"] not in (first.versions["gradient_boosted"],
                                                      corrected.versions["gradient_boosted"])
    now = _artifacts(services)
    assert {key: now[key] for key in stored} == stored                   # every earlier artifact, byte for byte
    assert len(now) > len(stored)
    for system in SYSTEMS:
        versions = {v["version"] for v in model_registry.list_versions(services, system)}
        assert {first.versions[system], later.versions[system]} <= versions


def test_current_only_moves_forward_in_training_date(services, season):
    later = model_registry.train(services, season.day(24))
    late_duplicate = model_registry.train(services, season.day(20))      # e.g. a delayed retrain
    assert late_duplicate.current == later.versions
    assert model_registry.current_versions(services) == later.versions


def test_artifacts_round_trip_to_identical_predictions(services, season, home):
    day = season.day(25)
    history = load_history(services.warehouse, season.day(24))
    in_memory = ModelSet.from_artifacts({system: ("in-memory", json.loads(json.dumps(artifact))) for system, artifact
                                         in train_systems(history, season.day(24)).items()})
    model_registry.train(services, season.day(24))
    rows = feature_rows(services.warehouse, day)
    services.close()
    worker = services_on(home)                                           # another process reading the store
    try:
        loaded = model_registry.load_current(worker)
    finally:
        worker.close()
    stored = [(p.player_id, p.market, p.system, p.value, p.interval_low, p.interval_high, p.top_features)
              for p in loaded.predict(rows)]
    fresh = [(p.player_id, p.market, p.system, p.value, p.interval_low, p.interval_high, p.top_features)
             for p in in_memory.predict(rows)]
    assert stored == fresh


def test_predictions_name_the_version_they_came_from_and_follow_a_new_current(services, season):
    rows = feature_rows(services.warehouse, season.day(26))
    first = model_registry.train(services, season.day(20))
    assert {(p.system, p.model_version) for p in model_registry.load_current(services).predict(rows)} == \
        set(first.versions.items())
    second = model_registry.train(services, season.day(25))
    assert model_registry.current_versions(services) == second.versions
    assert {(p.system, p.model_version) for p in model_registry.load_current(services).predict(rows)} == \
        set(second.versions.items())


def test_the_gradient_boosted_artifact_is_lightgbm_text_and_nothing_is_pickled(services, season):
    result = model_registry.train(services, season.day(20))
    artifact = model_registry.read_artifact(services, "gradient_boosted", result.versions["gradient_boosted"])
    assert artifact["params"]["format"] == "lightgbm-text"
    assert all(text.startswith("tree\nversion=") for text in artifact["params"]["models"].values())
    sources = [p for p in (REPO / "shared" / "predictions").rglob("*.py")]
    assert sources and not [p for p in sources if re.search(r"\b(pickle|joblib|cloudpickle|dill)\b", p.read_text())]


def test_the_models_commands_train_list_and_show_the_current_versions(home, season):
    from typer.testing import CliRunner

    from shared.cli.app import app
    runner = CliRunner()
    before = runner.invoke(app, ["--home", str(home), "models", "current", "--json"])
    assert before.exit_code == 0, before.output
    assert json.loads(before.output)["gradient_boosted"]["skipped"]

    trained = runner.invoke(app, ["--home", str(home), "models", "train", "--through", season.day(20).isoformat(),
                                  "--json"])
    assert trained.exit_code == 0, trained.output
    versions = json.loads(trained.output)["versions"]
    assert set(versions) == set(SYSTEMS) and json.loads(trained.output)["current"] == versions

    current = json.loads(runner.invoke(app, ["--home", str(home), "models", "current", "--json"]).output)
    assert {system: row["version"] for system, row in current.items()} == versions
    listed = json.loads(runner.invoke(app, ["--home", str(home), "models", "list", "--json"]).output)
    assert {(v["system"], v["version"]) for v in listed} == set(versions.items())


def test_training_without_enough_history_says_what_to_do(home, season):
    from typer.testing import CliRunner

    from shared.cli.app import app
    result = CliRunner().invoke(app, ["--home", str(home), "models", "train", "--through", season.day(2).isoformat()])
    assert result.exit_code == 1 and "backfill more" in result.output
