"""`sportsflow dlq list|show|replay` on the emulators: real messages dead-lettered by the Pub/Sub
emulator's dead-letter policy (a date scraped while Phase 2 was down: each trigger nacked
through its five delivery attempts, then forwarded to the DLQ topic and recorded), and a poison
message the function dead-letters itself; replayed after the cause is fixed, applied once."""
from __future__ import annotations

import json
import os
from datetime import date

import pytest
from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.config import Settings
from shared.orchestration.fan_in import FanInLedger
from shared.pipeline import run_history
from shared.pipeline.report import table_results
from shared.pipeline.runner import Pipeline, RunOptions
from shared.pipeline.status import is_finished
from shared.pipeline.tables import pipeline_tables
from shared.providers.payloads import SCRAPERS
from tests.operations.states import phase2_unavailable

pytestmark = pytest.mark.emulator
DAY = date(2024, 10, 24)  # four games
TOPIC = "phase1-scrapers-complete"


@pytest.fixture
def settings(emulators, unique_name, tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("SPORTSFLOW_EMULATOR_ENV", os.environ.get(
        "SPORTSFLOW_EMULATOR_ENV", str(Settings.from_env().emulator_env_file)))
    return Settings(backend="emulator", home=tmp_path / "home", project=unique_name,
                    evidence_bucket=f"{unique_name}-evidence", raw_bucket=f"{unique_name}-raw",
                    predictions_enabled=False)


@pytest.fixture
def cli(settings, monkeypatch):
    def invoke(*args) -> str:
        # The CLI reads its namespace from the environment; set it at each call (opening emulator
        # Services exports the harness's endpoints, GOOGLE_CLOUD_PROJECT among them).
        for variable, value in (("GOOGLE_CLOUD_PROJECT", settings.project),
                                ("SPORTSFLOW_EVIDENCE_BUCKET", settings.evidence_bucket),
                                ("SPORTSFLOW_RAW_BUCKET", settings.raw_bucket), ("SPORTSFLOW_PREDICTIONS", "off")):
            monkeypatch.setenv(variable, value)
        result = CliRunner().invoke(app, ["--backend", "emulator", "--home", str(settings.home), *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output
    return invoke


def _applied(settings: Settings) -> tuple[dict, dict, int, bool]:
    """Every pipeline table's rows and checksum for DAY, the successful runs, the fan-in claims."""
    services = Services(settings)
    try:
        tables = {t.table: (t.rows, t.checksum) for t in table_results(services.warehouse, pipeline_tables(), DAY)}
        runs = {name: (run.get("succeeded_run_id"), run.get("fence"))
                for name, run in run_history.runs_for(services.documents, DAY).items()}
        return tables, runs, len(FanInLedger(services.documents).claims(DAY)), is_finished(services.documents, DAY)
    finally:
        services.close()


def _scrape_while_phase2_is_down_and_send_a_poison_message(settings: Settings, monkeypatch) -> None:
    with phase2_unavailable(monkeypatch), Pipeline(settings, RunOptions()) as pipeline:
        with pipeline.delivering():
            pipeline.services.bus.publish(TOPIC, b"{not json", {"producer": "a-broken-scraper"})
        pipeline.run_date(DAY, checksums=False)


def test_dead_letters_of_the_pubsub_emulator_are_listed_shown_and_replayed_exactly_once(settings, cli, monkeypatch):
    _scrape_while_phase2_is_down_and_send_a_poison_message(settings, monkeypatch)
    letters = json.loads(cli("dlq", "list", "--json"))
    exhausted = [letter for letter in letters if letter["error_kind"] == "max_delivery_attempts_exceeded"]
    others = [letter for letter in letters if letter not in exhausted]
    assert len(exhausted) == len(SCRAPERS) and len(others) == 1, letters
    [poison] = others
    assert {letter["source_topic"] for letter in letters} == {TOPIC}
    assert all(letter["delivery_attempt"] >= 5 for letter in exhausted)  # the subscription's max attempts
    assert {letter["analysis_date"] for letter in exhausted} == {DAY.isoformat()}
    assert poison["error_kind"] == "not_json" and poison["analysis_date"] is None
    tables, _, _, finished = _applied(settings)
    assert not finished and tables["nba_raw.player_boxscores"][0] == 0

    # The registry's load waits for nothing (the boxscores' waits for it): it is replayed alone first.
    shown = next(shown for letter in exhausted if (shown := json.loads(cli("dlq", "show", letter["id"])))
                 ["original_message"]["payload"]["scraper"] == "player_registry")
    assert shown["original_message"]["payload"]["game_date"] == DAY.isoformat()
    assert shown["replayable"] == "yes" and shown["replays"] == 0
    assert "never parse" in json.loads(cli("dlq", "show", poison["id"]))["replayable"]

    # The cause is fixed (Phase 2 is back): replay one letter, then the same one again.
    one = shown["id"]
    first = json.loads(cli("dlq", "replay", one, "--json"))
    assert [entry["id"] for entry in first["replayed"]] == [one] and first["new_letters"] == 0
    after_one = _applied(settings)
    scraper = shown["original_message"]["payload"]["scraper"]
    assert after_one[0][f"nba_raw.{scraper}"][0] > 0 and not after_one[3]  # that load applied; the date waits
    forced = json.loads(cli("dlq", "replay", one, "--force", "--json"))
    assert [entry["replay_number"] for entry in forced["replayed"]] == [2] and forced["new_letters"] == 0
    assert _applied(settings) == after_one  # replayed twice, applied once

    # The rest: the date finishes; everything replayed again changes nothing.
    rest = json.loads(cli("dlq", "replay", "--json"))
    assert len(rest["replayed"]) == len(SCRAPERS) - 1 and rest["new_letters"] == 0
    assert {entry["id"] for entry in rest["skipped"]} == {one, poison["id"]}
    finished_state = _applied(settings)
    tables, _, claims, finished = finished_state
    assert finished and claims >= 1 and tables["nba_raw.player_boxscores"][0] > 0
    again = json.loads(cli("dlq", "replay", "--force", "--json"))
    assert len(again["replayed"]) == len(SCRAPERS) and again["new_letters"] == 0
    assert _applied(settings) == finished_state
    history = json.loads(cli("dlq", "show", one))["replay_history"]
    assert [entry["replay_number"] for entry in history] == [1, 2, 3]

