"""Phase 2 raw processors on the local adapters: payload → raw partition, idempotent, identity quarantined."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timedelta, timezone

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.adapters.local.evidence import FileEvidenceStore
from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import decode
from shared.contracts.envelope import Envelope
from shared.contracts.messages import RawProcessed, ScraperCompleted
from shared.pipeline.phase2 import PROCESSORS, handle_scraper_completed
from shared.pipeline.phase2.tables import (
    INJURY_REPORT,
    PLAYER_BOXSCORES,
    PLAYER_IDENTITY_REVIEW,
    PLAYER_REGISTRY,
    PROP_LINES,
    SCHEDULE,
    TEAM_BOXSCORES,
)
from shared.pipeline.raw_payloads import raw_key_of
from shared.providers.payloads import (
    InjuryReport,
    Payload,
    PlayerBoxScores,
    PlayerRegistry,
    PropLines,
    Schedule,
    TeamBoxScores,
)
from shared.runtime.context import FunctionContext
from shared.runtime.errors import PermanentError, TransientError
from shared.topology import TOPOLOGY, SubscriptionSpec

D = date(2025, 1, 15)
FUNCTION = TOPOLOGY.function("phase2_raw_processors")
COMPLETE = "phase2-raw-complete"


# ---- payloads of one small date -------------------------------------------------------------

def schedule(day: date = D) -> Schedule:
    return Schedule(source="synthetic", as_of=day, games=(
        {"game_id": "0022400601", "game_date": day, "start_time_utc": datetime(2025, 1, 16, 0, 30, tzinfo=timezone.utc),
         "home_team_id": 1610612742, "home_team_abbr": "DAL", "away_team_id": 1610612748, "away_team_abbr": "MIA"},))


def team_boxscores(day: date = D) -> TeamBoxScores:
    def team(abbr: str, team_id: int, opponent: str, is_home: bool, won: bool, points: int) -> dict:
        return {"game_id": "0022400601", "game_date": day, "team_id": team_id, "team_abbr": abbr,
                "opponent_abbr": opponent, "is_home": is_home, "won": won, "minutes": 240, "points": points,
                "fgm": 40, "fga": 85, "fg3m": 12, "fg3a": 35, "ftm": points - 92, "fta": points - 88, "oreb": 10,
                "dreb": 33, "reb": 43, "ast": 25, "stl": 7, "blk": 5, "tov": 12, "pf": 18,
                "plus_minus": 4.0 if won else -4.0}
    return TeamBoxScores(source="synthetic", as_of=day, rows=(team("DAL", 1610612742, "MIA", True, True, 110),
                                                              team("MIA", 1610612748, "DAL", False, False, 106)))


def box(name: str, team: str, points: int, day: date = D) -> dict:
    home = team == "DAL"
    return {"game_date": day, "player_name": name, "team_abbr": team, "opponent_abbr": "MIA" if home else "DAL",
            "is_home": home, "won": home, "minutes": 30.5, "points": points, "rebounds": 5, "assists": 4,
            "steals": 1, "blocks": 0, "turnovers": 2, "fgm": 8, "fga": 17, "fg3m": 2, "fg3a": 6, "ftm": 3, "fta": 4}


def player_boxscores(*rows: dict, day: date = D) -> PlayerBoxScores:
    return PlayerBoxScores(source="synthetic", as_of=day, rows=rows or (
        box("Luka Doncic", "DAL", 31), box("Jimmy Butler", "MIA", 22),
        box("Marcus Morris", "DAL", 6),            # two registry persons on DAL: ambiguous
        box("Nobody Atall", "MIA", 2)))            # unknown


def registry(day: date = D, *extra: dict) -> PlayerRegistry:
    return PlayerRegistry(source="synthetic", as_of=day, players=(
        {"person_id": 1629029, "full_name": "Luka Dončić", "first_name": "Luka", "last_name": "Dončić",
         "is_active": True, "team_abbr": "DAL"},
        {"person_id": 202710, "full_name": "Jimmy Butler III", "is_active": True, "team_abbr": "MIA"},
        {"person_id": 1, "full_name": "Marcus Morris", "is_active": True, "team_abbr": "DAL"},
        {"person_id": 2, "full_name": "Marcus Morris", "is_active": True, "team_abbr": "DAL"},
        *extra))


def prop_lines(day: date = D) -> PropLines:
    def line(name: str) -> dict:
        return {"player_name": name, "game": "Miami Heat @ Dallas Mavericks",
                "game_time_utc": datetime(2025, 1, 16, 0, 30, tzinfo=timezone.utc), "market": "player_points",
                "line": 24.5, "bookmaker": "draftkings", "over_odds": -115, "under_odds": -105}
    return PropLines(source="synthetic", as_of=day, rows=(line("Luka Doncic"), line("Jimmy Butler"),
                                                           line("Herb Jones")))


# ---- harness -------------------------------------------------------------------------------

@pytest.fixture
def bus():
    bus = LocalBus()
    bus.create_topic(COMPLETE)
    bus.create_subscription(SubscriptionSpec(name="inspect", topic=COMPLETE, dead_letter_topic=None))
    yield bus
    bus.close()


def make_services(tmp_path, bus, **settings) -> Services:
    return Services.with_adapters(Settings(home=tmp_path, **settings), warehouse=DuckDBWarehouse(":memory:"),
                                  documents=SqliteDocumentStore(":memory:"),
                                  evidence=FileEvidenceStore(tmp_path / "ev"), bus=bus)


@pytest.fixture
def services(tmp_path, bus):
    services = make_services(tmp_path, bus)
    yield services
    services.close()


from shared.pipeline.phase1 import record_count  # noqa: E402


def scraped(services: Services, scraper: str, payload: Payload, day: date = D, *, uri_prefix: str = "") -> ScraperCompleted:
    """Store the payload as a scraper would and the message announcing it."""
    data = payload.model_dump_json().encode()
    sha = hashlib.sha256(data).hexdigest()
    key = f"raw/{scraper}/{day.isoformat()}/{sha}.json"
    services.raw_payloads.put(key, data)
    return ScraperCompleted(scraper=scraper, game_date=day, success=True, payload_uri=uri_prefix + key,
                            payload_sha256=sha, records=record_count(payload))


def deliver(services: Services, message: ScraperCompleted):
    envelope = Envelope(message_type=message.MESSAGE_TYPE, schema_version=1, run_id="upstream",
                        correlation_id="corr-1", payload=message.model_dump(mode="json"))
    fctx = FunctionContext(function=FUNCTION, envelope=envelope, delivery_attempt=1, services=services)
    return handle_scraper_completed(message, fctx)


def published(bus: LocalBus) -> list[RawProcessed]:
    received = bus.pull("inspect", max_messages=100, timeout=0.1)
    bus.ack("inspect", [m.ack_id for m in received])
    return [decode(m.data).message for m in received]


def rows(services: Services, spec, day: date = D) -> list[dict]:
    order = ", ".join(f.name for f in spec.fields)
    return services.warehouse.query(f"SELECT * FROM {spec.qualified_name} "
                                    f"WHERE {spec.partition_field} = @d ORDER BY {order}", {"d": day})


def load_day(services: Services, day: date = D) -> None:
    for scraper, payload in (("schedule", schedule(day)), ("team_boxscores", team_boxscores(day)),
                             ("player_registry", registry(day))):
        deliver(services, scraped(services, scraper, payload, day))


# ---- tests ---------------------------------------------------------------------------------

def test_every_scraper_has_its_processor_named_as_in_the_topology():
    from shared.topology.definition import PHASE2_PROCESSORS
    assert sorted(p.name for p in PROCESSORS.values()) == sorted(PHASE2_PROCESSORS)
    assert all(p.completion_topic in FUNCTION.publishes for p in PROCESSORS.values())


def test_the_handler_loads_each_payload_and_announces_it(services, bus):
    load_day(services)
    outcome = deliver(services, scraped(services, "player_boxscores", player_boxscores()))
    deliver(services, scraped(services, "prop_lines", prop_lines()))

    assert outcome.status == "succeeded" and outcome.records == 2
    messages = published(bus)
    assert [(m.processor_name, m.source_table, m.records_processed, m.trigger_downstream) for m in messages] == [
        ("raw_schedule", "nba_raw.schedule", 1, True), ("raw_team_boxscores", "nba_raw.team_boxscores", 2, True),
        ("raw_player_registry", "nba_raw.player_registry", 4, True),
        ("raw_player_boxscores", "nba_raw.player_boxscores", 2, True),
        ("raw_prop_lines", "nba_raw.prop_lines", 3, True)]
    assert all(m.analysis_date == D and m.success for m in messages)
    assert [r["game_id"] for r in rows(services, SCHEDULE)] == ["0022400601"]
    assert {r["team_abbr"]: r["points"] for r in rows(services, TEAM_BOXSCORES)} == {"DAL": 110, "MIA": 106}
    assert len(rows(services, PLAYER_REGISTRY)) == 4


def test_box_scores_carry_ids_game_ids_and_provenance(services):
    load_day(services)
    message = scraped(services, "player_boxscores", player_boxscores())
    deliver(services, message)

    loaded = {r["player_name"]: r for r in rows(services, PLAYER_BOXSCORES)}
    assert {n: (r["player_id"], r["resolution_method"]) for n, r in loaded.items()} == {
        "Luka Doncic": (1629029, "normalised"), "Jimmy Butler": (202710, "team")}
    assert {r["game_id"] for r in loaded.values()} == {"0022400601"}
    assert {(r["source"], r["payload_sha256"]) for r in loaded.values()} == {("synthetic", message.payload_sha256)}


def test_unidentified_players_are_quarantined_not_guessed(services):
    load_day(services)
    deliver(services, scraped(services, "player_boxscores", player_boxscores()))

    review = {r["player_name"]: (r["team_abbr"], r["reason"], json.loads(r["candidates"]))
              for r in rows(services, PLAYER_IDENTITY_REVIEW)}
    assert review == {"Marcus Morris": ("DAL", "ambiguous", [1, 2]), "Nobody Atall": ("MIA", "unknown", [])}
    assert not {"Marcus Morris", "Nobody Atall"} & {r["player_name"] for r in rows(services, PLAYER_BOXSCORES)}


def test_the_team_separates_namesakes(services):
    load_day(services)
    deliver(services, scraped(services, "player_registry", registry(D, {
        "person_id": 3, "full_name": "Nate Williams", "is_active": False, "team_abbr": "MIA"}, {
        "person_id": 4, "full_name": "Nate Williams", "is_active": False, "team_abbr": None})))
    deliver(services, scraped(services, "player_boxscores", player_boxscores(box("Nate Williams", "MIA", 4))))
    assert [(r["player_id"], r["resolution_method"]) for r in rows(services, PLAYER_BOXSCORES)] == [(3, "team")]


def test_two_rows_resolving_to_one_person_are_both_quarantined(services):
    load_day(services)
    deliver(services, scraped(services, "player_boxscores", player_boxscores(
        box("Luka Doncic", "DAL", 31), box("Luka Dončić", "DAL", 12))))
    assert rows(services, PLAYER_BOXSCORES) == []
    assert [(r["reason"], r["candidates"]) for r in rows(services, PLAYER_IDENTITY_REVIEW)] == [
        ("ambiguous", "[1629029]")] * 2


def test_the_same_payload_twice_is_processed_once_and_never_duplicates(services, bus):
    load_day(services)
    message = scraped(services, "player_boxscores", player_boxscores())
    first = deliver(services, message)
    before = (rows(services, PLAYER_BOXSCORES), rows(services, PLAYER_IDENTITY_REVIEW))
    second = deliver(services, message)

    assert (first.status, second.status) == ("succeeded", "skipped")
    assert (rows(services, PLAYER_BOXSCORES), rows(services, PLAYER_IDENTITY_REVIEW)) == before
    announced = [m for m in published(bus) if m.processor_name == "raw_player_boxscores"]
    assert len(announced) == 2  # a redelivery still announces, so a lost publish is never lost


def test_a_changed_payload_replaces_the_partitions(services):
    load_day(services)
    deliver(services, scraped(services, "player_boxscores", player_boxscores()))
    corrected = player_boxscores(box("Luka Doncic", "DAL", 33), box("Jimmy Butler", "MIA", 22))
    outcome = deliver(services, scraped(services, "player_boxscores", corrected))

    assert outcome.status == "succeeded"
    assert [(r["player_name"], r["points"]) for r in rows(services, PLAYER_BOXSCORES)] == [
        ("Jimmy Butler", 22), ("Luka Doncic", 33)]
    assert rows(services, PLAYER_IDENTITY_REVIEW) == []
    assert len({r["payload_sha256"] for r in rows(services, PLAYER_BOXSCORES)}) == 1


def test_reprocessing_one_date_leaves_other_dates_alone(services):
    other = D - timedelta(days=1)
    load_day(services, other)
    deliver(services, scraped(services, "player_boxscores",
                              player_boxscores(box("Luka Doncic", "DAL", 20, other), day=other), other))
    load_day(services)
    deliver(services, scraped(services, "player_boxscores", player_boxscores()))
    deliver(services, scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 40))))
    assert [r["points"] for r in rows(services, PLAYER_BOXSCORES, other)] == [20]
    assert [r["points"] for r in rows(services, PLAYER_BOXSCORES)] == [40]


def test_the_backfill_switch_stops_triggering_phase3(tmp_path, bus):
    services = make_services(tmp_path, bus, phase3_trigger_enabled=False)
    deliver(services, scraped(services, "schedule", schedule()))
    [message] = published(bus)
    assert message.success and message.trigger_downstream is False


def test_box_scores_wait_for_the_registry(services, bus):
    deliver(services, scraped(services, "schedule", schedule()))
    message = scraped(services, "player_boxscores", player_boxscores())
    with pytest.raises(TransientError, match="waiting for raw_player_registry"):
        deliver(services, message)
    deliver(services, scraped(services, "player_registry", registry()))
    assert deliver(services, message).status == "succeeded"  # the redelivery, once the registry is in


def test_an_earlier_registry_serves_a_later_date(services):
    deliver(services, scraped(services, "player_registry", registry(D - timedelta(days=3)), D - timedelta(days=3)))
    deliver(services, scraped(services, "player_registry", registry(D + timedelta(days=1)), D + timedelta(days=1)))
    deliver(services, scraped(services, "schedule", schedule()))
    deliver(services, scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 31))))
    assert [r["player_id"] for r in rows(services, PLAYER_BOXSCORES)] == [1629029]


def test_box_scores_wait_for_a_game_id_source(services):
    deliver(services, scraped(services, "player_registry", registry()))
    with pytest.raises(TransientError, match="not loaded yet"):
        deliver(services, scraped(services, "player_boxscores", player_boxscores()))


def test_team_box_scores_supply_game_ids_without_a_schedule(services):
    deliver(services, scraped(services, "player_registry", registry()))
    deliver(services, scraped(services, "team_boxscores", team_boxscores()))
    deliver(services, scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 31))))
    assert [r["game_id"] for r in rows(services, PLAYER_BOXSCORES)] == ["0022400601"]


def test_a_date_without_games_needs_no_registry(services):
    outcome = deliver(services, scraped(services, "player_boxscores",
                                        PlayerBoxScores(source="synthetic", as_of=D, rows=())))
    assert (outcome.status, outcome.records) == ("succeeded", 0)


def test_prop_lines_resolve_where_possible_and_keep_the_rest(services):
    deliver(services, scraped(services, "player_registry", registry()))
    deliver(services, scraped(services, "prop_lines", prop_lines()))
    assert {r["player_name"]: r["player_id"] for r in rows(services, PROP_LINES)} == {
        "Luka Doncic": 1629029, "Jimmy Butler": 202710, "Herb Jones": None}  # Herbert Jones is not registered


def test_a_failed_scrape_is_acknowledged_without_work(services, bus):
    failed = ScraperCompleted(scraper="schedule", game_date=D, success=False, error="provider 503")
    assert deliver(services, failed) is None
    assert published(bus) == []


def test_an_unknown_scraper_is_a_permanent_error(services):
    message = ScraperCompleted(scraper="weather_report", game_date=D, success=True, payload_uri="x",
                               payload_sha256="0" * 64)
    with pytest.raises(PermanentError, match="no raw processor"):
        deliver(services, message)


def test_a_payload_that_does_not_match_its_hash_is_a_permanent_error(services):
    message = scraped(services, "schedule", schedule())
    forged = message.model_copy(update={"payload_sha256": "f" * 64})
    with pytest.raises(PermanentError, match="SHA-256"):
        deliver(services, forged)


def test_rows_of_another_date_are_refused(services):
    from shared.pipeline.processor import DataQualityError
    with pytest.raises(DataQualityError, match="holds rows for"):
        deliver(services, scraped(services, "schedule", schedule(D + timedelta(days=1)), D))


def test_a_bucket_uri_names_its_object():
    key = f"raw/schedule/2025-01-15/{'a' * 64}.json"
    assert raw_key_of(f"gs://sportsflow-raw/{key}") == key
    assert raw_key_of(key) == key
    with pytest.raises(PermanentError):
        raw_key_of("gs://bucket-only")


def test_a_uri_payload_reference_is_read_from_the_raw_store(services):
    outcome = deliver(services, scraped(services, "schedule", schedule(), uri_prefix="gs://sportsflow-raw/"))
    assert outcome.records == 1


def test_the_schedule_game_id_wins_over_the_team_box_scores(services):
    deliver(services, scraped(services, "player_registry", registry()))
    disagreeing = TeamBoxScores(source="synthetic", as_of=D, rows=tuple(
        row.model_copy(update={"game_id": "provider-2"}) for row in team_boxscores().rows))
    deliver(services, scraped(services, "team_boxscores", disagreeing))
    deliver(services, scraped(services, "schedule", schedule()))
    deliver(services, scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 31))))
    assert [r["game_id"] for r in rows(services, PLAYER_BOXSCORES)] == ["0022400601"]


def test_prop_lines_wait_for_the_registry(services):
    with pytest.raises(TransientError, match="waiting for raw_player_registry"):
        deliver(services, scraped(services, "prop_lines", prop_lines()))


@pytest.mark.emulator
def test_box_scores_on_the_bigquery_emulator(emulators, unique_name, tmp_path, bus):
    """The registry, game-id and partition-replace SQL as BigQuery runs it (bqemulator). The
    dataset name is fixed, so the run takes a date of its own."""
    if "BIGQUERY_EMULATOR_HOST" not in emulators:
        if os.environ.get("SPORTSFLOW_REQUIRE_EMULATORS") == "1":
            pytest.fail("no BigQuery emulator in the env file")
        pytest.skip("no BigQuery emulator in the env file")
    from shared.adapters.gcp.bigquery import BigQueryWarehouse
    day = date(2040, 1, 1) + timedelta(days=int(unique_name[1:7], 16) % 20000)
    warehouse = BigQueryWarehouse.from_env(project=emulators.get("GOOGLE_CLOUD_PROJECT", "test"))
    services = Services.with_adapters(Settings(home=tmp_path), warehouse=warehouse,
                                      documents=SqliteDocumentStore(":memory:"),
                                      evidence=FileEvidenceStore(tmp_path / "ev"), bus=bus)
    load_day(services, day)
    deliver(services, scraped(services, "player_boxscores", PlayerBoxScores(source="synthetic", as_of=day, rows=(
        box("Luka Doncic", "DAL", 31, day), box("Marcus Morris", "DAL", 6, day))), day))
    deliver(services, scraped(services, "player_boxscores", PlayerBoxScores(source="synthetic", as_of=day, rows=(
        box("Luka Doncic", "DAL", 33, day), box("Marcus Morris", "DAL", 6, day))), day))

    assert [(r["player_id"], r["points"], r["game_id"]) for r in rows(services, PLAYER_BOXSCORES, day)] == [
        (1629029, 33, "0022400601")]
    assert [r["reason"] for r in rows(services, PLAYER_IDENTITY_REVIEW, day)] == ["ambiguous"]


def test_an_older_scrape_arriving_late_never_overwrites_a_newer_one(services):
    """Hourly scrapes of one date: the 11:00 payload is delivered before the 10:00 one (Pub/Sub
    does not order them). The table keeps the newer payload's rows."""
    load_day(services)
    older = scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 20)))
    newer = scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 40)))
    assert deliver(services, newer).status == "succeeded"
    assert deliver(services, older).status == "skipped"  # superseded: the newer success stands
    assert [r["points"] for r in rows(services, PLAYER_BOXSCORES)] == [40]
    newest = scraped(services, "player_boxscores", player_boxscores(box("Luka Doncic", "DAL", 41)))
    assert deliver(services, newest).status == "succeeded"
    assert [r["points"] for r in rows(services, PLAYER_BOXSCORES)] == [41]


def injury_report(*players: tuple[int, str, str, str], day: date = D) -> InjuryReport:
    return InjuryReport(source="synthetic", as_of=day, players=tuple(
        {"person_id": pid, "player_name": name, "team_abbr": team, "status": status, "reason": "ankle"}
        for pid, name, team, status in players))


def test_the_injury_report_becomes_its_raw_table_and_a_newer_report_replaces_it(services, bus):
    first = injury_report((1629029, "Luka Dončić", "DAL", "out"), (202710, "Jimmy Butler", "MIA", "questionable"))
    assert deliver(services, scraped(services, "injury_report", first)).records == 2
    assert [(r["player_id"], r["team_abbr"], r["status"], r["reason"], r["game_date"])
            for r in rows(services, INJURY_REPORT)] == [(202710, "MIA", "questionable", "ankle", D),
                                                        (1629029, "DAL", "out", "ankle", D)]
    assert [(m.processor_name, m.source_table, m.records_processed) for m in published(bus)] == [
        ("raw_injury_report", "nba_raw.injury_report", 2)]
    cleared = injury_report((1629029, "Luka Dončić", "DAL", "questionable"))
    deliver(services, scraped(services, "injury_report", cleared))
    assert [(r["player_id"], r["status"]) for r in rows(services, INJURY_REPORT)] == [(1629029, "questionable")]


def test_an_injury_report_listing_a_player_twice_is_refused(services):
    from shared.pipeline.processor import DataQualityError
    twice = injury_report((1629029, "Luka Dončić", "DAL", "out"), (1629029, "Luka Doncic", "DAL", "questionable"))
    with pytest.raises(DataQualityError, match="listed twice"):
        deliver(services, scraped(services, "injury_report", twice))
