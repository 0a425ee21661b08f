"""Dead-letter replay: republished to the original topic, recorded, and never doubling anything."""
from __future__ import annotations

import json
from datetime import date

from typer.testing import CliRunner

from shared.bootstrap import Services
from shared.cli.app import app
from shared.operations import dlq
from shared.orchestration.fan_in import FanInLedger
from shared.pipeline import run_history
from shared.pipeline.status import is_finished
from shared.providers.payloads import SCRAPERS
from tests.operations.states import backfill, checksums, home_with_dead_letters, settings_for

TRIGGERS = len(SCRAPERS)  # one scraper-complete trigger per scraper of the date

DAY = date(2025, 1, 3)


def _cli(home, *args):
    result = CliRunner().invoke(app, ["--home", str(home), *args], catch_exceptions=False)
    return result


def _successful_runs(home, day):
    services = Services(settings_for(home))
    try:
        runs = {name: (run["succeeded_run_id"], run["fence"])
                for name, run in run_history.runs_for(services.documents, day).items()}
        claims = len(FanInLedger(services.documents).claims(day))
        return runs, claims
    finally:
        services.close()


def _finished(home, day) -> bool:
    services = Services(settings_for(home))
    try:
        return is_finished(services.documents, day)
    finally:
        services.close()


def test_replaying_every_dead_letter_twice_finishes_the_date_and_doubles_nothing(tmp_path, monkeypatch):
    home = tmp_path / "home"
    backfill(home, date(2025, 1, 1), date(2025, 1, 2))
    home_with_dead_letters(home, DAY, monkeypatch)
    assert not _finished(home, DAY)

    listed = json.loads(_cli(home, "dlq", "list", "--json").output)
    assert len(listed) == TRIGGERS and {letter["source_topic"] for letter in listed} == {"phase1-scrapers-complete"}
    assert all(letter["error_kind"] == "max_delivery_attempts_exceeded" for letter in listed)
    assert {letter["analysis_date"] for letter in listed} == {DAY.isoformat()}

    dry = json.loads(_cli(home, "dlq", "replay", "--dry-run", "--json").output)
    assert len(dry["replayed"]) == TRIGGERS and not _finished(home, DAY)

    first = json.loads(_cli(home, "dlq", "replay", "--topic", "phase1-scrapers-complete", "--json").output)
    assert len(first["replayed"]) == TRIGGERS and first["new_letters"] == 0
    assert _finished(home, DAY)
    after_first = checksums(home, [DAY])
    runs_after_first = _successful_runs(home, DAY)

    again = json.loads(_cli(home, "dlq", "replay", "--json").output)
    assert again["replayed"] == [] and len(again["skipped"]) == TRIGGERS
    assert all("already replayed 1x" in skipped["reason"] for skipped in again["skipped"])

    forced = json.loads(_cli(home, "dlq", "replay", "--force", "--json").output)
    assert [entry["replay_number"] for entry in forced["replayed"]] == [2] * TRIGGERS and forced["new_letters"] == 0
    assert checksums(home, [DAY]) == after_first
    assert _successful_runs(home, DAY) == runs_after_first
    assert checksums(home, [DAY])[DAY.isoformat()]["nba_raw.player_boxscores"][0] > 0

    shown = json.loads(_cli(home, "dlq", "show", listed[0]["id"]).output)
    assert shown["replays"] == 2 and [r["replay_number"] for r in shown["replay_history"]] == [1, 2]
    assert shown["original_message"]["payload"]["game_date"] == DAY.isoformat()


def test_a_replay_is_the_original_envelope_with_a_new_attempt_and_a_link_to_the_letter():
    import base64

    from shared.contracts.codec import encode
    from shared.contracts.messages import ScraperCompleted
    encoded = encode(ScraperCompleted(scraper="schedule", game_date=DAY, success=False, error="x", source="s"),
                     run_id="r1", correlation_id="c1")
    letter = dlq.Letter("abc", {"source_topic": "phase1-scrapers-complete", "replays": 1,
                                "original_data_b64": base64.b64encode(encoded.data).decode(),
                                "attributes": {**encoded.attributes, "CloudPubSubDeadLetterSourceSubscription": "s"}})
    data, attributes = dlq.replay_message(letter, 2)
    replayed, original = json.loads(data), json.loads(encoded.data)
    assert replayed["attempt"] == original["attempt"] + 2
    unchanged = {k: v for k, v in original.items() if k != "attempt"}
    assert {k: v for k, v in replayed.items() if k != "attempt"} == unchanged
    assert attributes["replay_of_dead_letter"] == "abc" and attributes["replay_number"] == "2"
    assert not any(k.startswith("CloudPubSubDeadLetter") for k in attributes)


def test_letters_that_can_never_parse_are_listed_but_not_replayed(tmp_path):
    import base64
    services = Services(settings_for(tmp_path / "home"))
    try:
        services.documents.create("dead_letters/junk", {"source_topic": "t", "error_kind": "malformed_json",
                                                        "reason": "not JSON", "recorded_at": services.documents.now(),
                                                        "original_data_b64": base64.b64encode(b"{nope").decode()})
        published = []
        report = dlq.replay_letters(services.documents, dlq.list_letters(services.documents),
                                    lambda *a: published.append(a) or "id")
    finally:
        services.close()
    assert published == [] and "never parse" in report.skipped[0]["reason"]
