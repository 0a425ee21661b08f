"""Phase 1 scrapers end to end: a real provider server, the resilient client, evidence, the bus."""
from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import flask
import pytest
from werkzeug.test import EnvironBuilder

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.evidence import FileEvidenceStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts.codec import decode
from shared.contracts.messages import ScraperCompleted
from shared.pipeline.phase1 import (
    SCRAPER_GROUPS,
    SCRAPER_PATHS,
    TOPIC,
    bus_publisher,
    canonical_json,
    handle_scrape_request,
    parse_scrape_request,
    run_scraper,
)
from shared.providers.faults import ProviderFaults
from shared.providers.payloads import SCRAPERS
from shared.providers.server import ROUTES, ProviderServer
from shared.providers.synthetic import SyntheticSource
from shared.resilience import (
    DEFAULT_POLICY,
    BreakerState,
    CircuitOpenError,
    ProviderClient,
    ProviderUnavailable,
)
from shared.topology import TOPOLOGY
from shared.topology.model import SubscriptionSpec

DAY = date(2025, 1, 15)
NOW = datetime(2025, 1, 16, 12, 0, tzinfo=timezone.utc)
SUBSCRIPTION = "phase1-scrapers-complete--test"
SOURCE = SyntheticSource(seed=2)
REPO_ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Sleeps:
    """Records retry backoffs instead of sleeping, moving the fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.clock.advance(seconds)


@pytest.fixture
def services(tmp_path) -> Services:
    bus = LocalBus()
    bus.create_topic(TOPIC)
    bus.create_subscription(SubscriptionSpec(name=SUBSCRIPTION, topic=TOPIC, dead_letter_topic=None))
    services = Services.with_adapters(Settings(home=tmp_path), evidence=FileEvidenceStore(tmp_path / "ev"), bus=bus)
    yield services
    services.close()


@pytest.fixture
def faults() -> ProviderFaults:
    return ProviderFaults(seed=0)


@pytest.fixture
def provider(faults) -> ProviderServer:
    server = ProviderServer(SOURCE, faults=faults)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps(clock) -> Sleeps:
    return Sleeps(clock)


@pytest.fixture
def client(provider, clock, sleeps) -> ProviderClient:
    with ProviderClient("nba-stats", provider.base_url, clock=clock, sleep=sleeps) as client:
        yield client


def announced(services) -> list[ScraperCompleted]:
    received = services.bus.pull(SUBSCRIPTION, max_messages=100, timeout=0)
    services.bus.ack(SUBSCRIPTION, [m.ack_id for m in received])
    return [decode(m.data, expected_type="ScraperCompleted").message for m in received]


def scrape(scraper, services, client, day=DAY):
    publish = bus_publisher(services.bus, run_id="run-1", correlation_id="corr-1")
    return run_scraper(scraper, day, services=services, client=client, publish=publish, now=NOW)


def test_routes_and_scrapers_are_one_table():
    assert set(SCRAPER_PATHS) == set(SCRAPERS)
    assert {path: scraper for scraper, path in SCRAPER_PATHS.items()} == ROUTES


def test_each_scraper_stores_its_payload_and_announces_it(services, client):
    for scraper in SCRAPERS:
        completed = scrape(scraper, services, client)
        expected = canonical_json(SOURCE.payload(scraper, DAY))
        sha256 = hashlib.sha256(expected).hexdigest()
        assert completed.success and completed.payload_sha256 == sha256
        assert completed.payload_uri == f"raw/{scraper}/2025-01-15/{sha256}.json"
        assert services.raw_payloads.get(completed.payload_uri) == expected
        assert services.evidence.head(completed.payload_uri) is None  # raw payloads are not evidence
        assert completed.records > 0 and completed.source == "synthetic:2"
    messages = announced(services)
    assert [m.scraper for m in messages] == list(SCRAPERS)
    assert all(m.success and m.game_date == DAY for m in messages)


def test_a_repeat_stores_nothing_new_and_announces_again(services, client):
    first = scrape("player_boxscores", services, client)
    second = scrape("player_boxscores", services, client)
    assert first == second
    assert [o.key for o in services.raw_payloads.list("raw/player_boxscores/")] == [first.payload_uri]
    assert len(announced(services)) == 2


def test_canonical_bytes_do_not_depend_on_field_order():
    payload = SOURCE.schedule(DAY)
    assert json.loads(canonical_json(payload)) == payload.model_dump(mode="json")
    assert canonical_json(type(payload).model_validate_json(payload.model_dump_json())) == canonical_json(payload)


class _WrongShapes:
    """A provider that answers every route with a schedule, and a schedule about the wrong day."""

    label = "wrong"

    def payload(self, scraper, day):
        return SOURCE.schedule(day if scraper != "schedule" else day - timedelta(days=1))


def test_invalid_provider_data_is_announced_as_a_failure_and_never_stored(services, clock, sleeps):
    with ProviderServer(_WrongShapes()) as base_url, \
            ProviderClient("nba-stats", base_url, clock=clock, sleep=sleeps) as client:
        wrong_model = scrape("player_boxscores", services, client)
        wrong_day = scrape("schedule", services, client)
    assert not wrong_model.success and "validation error" in wrong_model.error
    assert not wrong_day.success and "asked for 2025-01-15" in wrong_day.error
    assert services.raw_payloads.list("raw/") == [] and services.evidence.list("raw/") == []
    assert [m.success for m in announced(services)] == [False, False]


def test_5xx_and_timeouts_are_retried_with_the_spec_backoff(services, provider, faults, clock, sleeps):
    faults.fail_next(2, route="/schedule", status=500)
    with ProviderClient("nba-stats", provider.base_url, clock=clock, sleep=sleeps) as client:
        assert scrape("schedule", services, client).success
    assert sleeps.waits == [0.5, 1.0] and provider.request_counts["/schedule"] == 3

    sleeps.waits.clear()
    # SPEC's 5 s timeout, shortened so the test is quick — but long enough for a loaded
    # machine to serve the (warmed-up) route; the injected hangs last 5 s.
    quick = DEFAULT_POLICY.with_timeout(1.0)
    with ProviderClient("nba-stats-quick", provider.base_url, policy=quick, clock=clock, sleep=sleeps) as client:
        assert scrape("player_registry", services, client).success  # warms the route up
        before = provider.request_counts["/players"]
        faults.hang_next(2, route="/players", seconds=5)
        assert scrape("player_registry", services, client).success
        assert sleeps.waits == [0.5, 1.0] and provider.request_counts["/players"] - before == 3
        faults.hang_next(3, route="/players", seconds=5)
        with pytest.raises(ProviderUnavailable, match="after 3 attempt") as raised:
            scrape("player_registry", services, client)
    assert "Timeout" in raised.value.cause


def test_provider_outage_opens_the_breaker_and_recovers(services, provider, faults, client, clock, sleeps):
    faults.start_outage()
    for _ in range(5):  # five calls, each already retried twice: SPEC's "5 consecutive failures"
        with pytest.raises(ProviderUnavailable):
            scrape("team_boxscores", services, client)
    assert client.breaker.state is BreakerState.OPEN
    assert provider.request_counts["/boxscores/teams"] == 15 and sleeps.waits == [0.5, 1.0] * 5

    with pytest.raises(CircuitOpenError):  # fails fast: the provider is not called
        scrape("team_boxscores", services, client)
    assert provider.request_counts["/boxscores/teams"] == 15

    faults.end_outage()
    clock.advance(119)
    with pytest.raises(CircuitOpenError):
        scrape("team_boxscores", services, client)
    clock.advance(1)  # 120 s after opening: one probe goes through, succeeds, closes the circuit
    assert scrape("team_boxscores", services, client).success
    assert client.breaker.state is BreakerState.CLOSED
    assert provider.request_counts["/boxscores/teams"] == 16
    assert [m.success for m in announced(services)] == [True], "failed calls announce nothing"


# --- the HTTP function -----------------------------------------------------------------------
def http_request(method="POST", **kwargs) -> flask.Request:
    return flask.Request(EnvironBuilder(method=method, **kwargs).get_environ())


def call(services, client, **kwargs):
    response = handle_scrape_request(http_request(**kwargs), services=services, client=client, now=NOW)
    return response.status_code, json.loads(response.get_data()), response


def test_scheduler_job_bodies_name_the_groups():
    jobs = {job.name: job.body for job in TOPOLOGY.scheduler_jobs if job.target_function == "phase1_scrapers"}
    assert parse_scrape_request(jobs["phase1-daily-scrape"], today=DAY) == (SCRAPER_GROUPS["daily"], DAY - timedelta(1))
    assert parse_scrape_request(jobs["phase1-hourly-scrape"], today=DAY) == (SCRAPER_GROUPS["hourly"], DAY)


def test_daily_job_scrapes_yesterday(services, client):
    status, body, _ = call(services, client, json={"scrapers": "daily", "date": "yesterday"})
    assert status == 200 and body["ok"] and body["date"] == "2025-01-15"  # NOW is 07:00 on Jan 16 in New York
    assert [r["scraper"] for r in body["results"]] == ["player_boxscores", "team_boxscores", "player_registry"]
    messages = announced(services)
    assert [m.game_date for m in messages] == [DAY] * 3


def test_hourly_job_scrapes_the_injury_report_over_http(services, client, provider):
    status, body, _ = call(services, client, json={"scrapers": "hourly", "date": "2025-01-15"})
    assert status == 200 and body["ok"]
    assert [r["scraper"] for r in body["results"]] == ["schedule", "prop_lines", "injury_report"]
    report = next(m for m in announced(services) if m.scraper == "injury_report")
    assert report.success and report.records == len(SOURCE.injury_report(DAY).players) > 0
    assert provider.request_counts["/injuries"] == 1


def test_a_date_without_games_scrapes_and_announces_nothing_and_says_so(services, client, provider):
    christmas_eve = date(2024, 12, 24)  # no games in the synthetic season
    status, body, _ = call(services, client, json={"scrapers": "daily", "date": christmas_eve.isoformat()})
    assert status == 200 and body["ok"] and body["no_games"] and body["results"] == []
    assert announced(services) == [], "nothing downstream is triggered"
    assert services.raw_payloads.list("raw/") == []
    assert provider.request_counts == {"/schedule": 1}


def test_get_with_query_arguments(services, client):
    status, body, _ = call(services, client, method="GET", query_string={"scrapers": "schedule,prop_lines",
                                                                         "date": "2025-01-15"})
    assert status == 200 and [r["records"] > 0 for r in body["results"]] == [True, True]


@pytest.mark.parametrize("kwargs, message", [
    ({"json": {"scrapers": "weekly"}}, "unknown scraper(s) ['weekly']: use a group (all, daily, hourly)"),
    ({"json": {"scrapers": []}}, "'scrapers' must be one of"),
    ({"json": {"scrapers": ["schedule", "injuries"]}}, "unknown scraper(s) ['injuries']"),
    ({"json": {"scrapers": "all", "date": "15/01/2025"}}, "'date' must be YYYY-MM-DD"),
    ({"json": {"scraper": "all"}}, "unknown field(s) ['scraper']"),
    ({"json": ["schedule"]}, "expected a JSON object"),
    ({"data": "not json", "content_type": "application/json"}, "not JSON"),
])
def test_bad_requests_are_400_with_a_reason(services, client, kwargs, message):
    status, body, _ = call(services, client, **kwargs)
    assert status == 400 and message in body["error"]
    assert announced(services) == []


def test_unavailable_provider_is_503_with_retry_after(services, client, faults):
    faults.start_outage()
    for _ in range(2):  # 2 × 2 scrapers: the fifth failure opens the circuit mid-request
        status, body, response = call(services, client, json={"scrapers": "hourly", "date": "2025-01-15"})
        assert status == 503 and not body["ok"]
    status, body, response = call(services, client, json={"scrapers": "schedule", "date": "2025-01-15"})
    assert status == 503 and "circuit" in body["results"][0]["error"]
    assert int(response.headers["Retry-After"]) >= 1


def test_invalid_provider_data_is_502(services, clock, sleeps):
    with ProviderServer(_WrongShapes()) as base_url, \
            ProviderClient("nba-stats", base_url, clock=clock, sleep=sleeps) as client:
        status, body, _ = call(services, client, json={"scrapers": ["prop_lines"], "date": "2025-01-15"})
    assert status == 502 and "invalid provider data" in body["results"][0]["error"]


def test_without_a_provider_url_the_function_says_what_to_set(services):
    response = handle_scrape_request(http_request(json={"scrapers": "all"}), services=services, now=NOW)
    assert response.status_code == 500 and "SPORTSFLOW_PROVIDER_URL" in json.loads(response.get_data())["error"]


def test_the_provider_url_setting_is_used(tmp_path, provider):
    bus = LocalBus()
    bus.create_topic(TOPIC)
    settings = Settings(home=tmp_path, provider_url=provider.base_url)
    services = Services.with_adapters(settings, evidence=FileEvidenceStore(tmp_path / "ev"), bus=bus)
    response = handle_scrape_request(http_request(json={"scrapers": ["schedule"], "date": "2025-01-15"}),
                                     services=services, now=NOW)
    # once to see whether the date has games at all, once as the scraper
    assert response.status_code == 200 and provider.request_counts == {"/schedule": 2}


def test_functions_framework_serves_the_entry_point(monkeypatch, tmp_path, provider):
    import functions_framework

    from shared.runtime import entrypoints

    bus = LocalBus()
    bus.create_topic(TOPIC)
    bus.create_subscription(SubscriptionSpec(name=SUBSCRIPTION, topic=TOPIC, dead_letter_topic=None))
    settings = Settings(home=tmp_path, provider_url=provider.base_url)
    services = Services.with_adapters(settings, evidence=FileEvidenceStore(tmp_path / "ev"), bus=bus)
    monkeypatch.setattr(entrypoints, "_services", services)  # what process_services() returns
    monkeypatch.setenv("SPORTSFLOW_DEV_TOKEN", "phase1-test-token")
    app = functions_framework.create_app(target="handle", source=str(REPO_ROOT / "functions/phase1_scrapers/main.py"))
    body = {"scrapers": ["schedule"], "date": "2025-01-15"}
    assert app.test_client().post("/", json=body).status_code == 401
    assert app.test_client().post("/", json=body, headers={"Authorization": "Bearer nope"}).status_code == 403
    assert announced(services) == [] and provider.request_counts == {}  # refused callers run nothing
    response = app.test_client().post("/", json=body, headers={"Authorization": "Bearer phase1-test-token"})
    assert response.status_code == 200 and response.get_json()["results"][0]["success"]
    assert [m.scraper for m in announced(services)] == ["schedule"]


def test_replayed_day_end_to_end(services, data_dir, clock, sleeps):
    from shared.providers.replay import ReplaySource

    with ProviderServer(ReplaySource(data_dir)) as base_url, \
            ProviderClient("nba-stats", base_url, clock=clock, sleep=sleeps) as client:
        results = {s: scrape(s, services, client) for s in SCRAPERS}
    assert all(r.success and r.source == f"replay:{data_dir}" for r in results.values())
    assert results["schedule"].records == 11 and results["player_registry"].records == 5198
    assert results["injury_report"].records > 0  # the stand-in provider serves replay's derived report
