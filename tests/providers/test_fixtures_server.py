"""The fixtures provider over HTTP: fixtures and results (as of a moment) of a synthetic or a
replayed season, the provider server's faults, read through the resilience layer."""
from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest

from shared.ingestion.provider import FixturesProvider
from shared.providers.faults import ProviderFaults
from shared.providers.fixtures import ReplayFixturesSource, SyntheticFixturesSource, open_fixtures_source
from shared.providers.fixtures_server import FixturesServer
from shared.resilience import ProviderClient, ProviderRejected, ProviderUnavailable

SOURCE = SyntheticFixturesSource(seed=2, rounds=2, matches_per_round=2)


@pytest.fixture
def server():
    server = FixturesServer(SOURCE, faults=ProviderFaults())
    server.start()
    yield server
    server.stop()


def _client(server) -> FixturesProvider:
    return FixturesProvider(ProviderClient("fixtures", server.base_url, sleep=lambda s: None))


def test_fixtures_and_results_as_of_a_moment(server):
    fixtures = httpx.get(f"{server.base_url}/fixtures", params={"tournament": "t1"}).json()
    assert fixtures["tournament"]["tournament_id"] == "t1" and len(fixtures["rounds"]) == 2
    assert set(fixtures["matches"][0]) == {"match_id", "round_id", "home", "away", "kickoff"}
    final = httpx.get(f"{server.base_url}/results", params={"tournament": "t1"}).json()
    assert {m["status"] for m in final["matches"]} == {"ended"}
    first_kickoff = SOURCE.start
    at_kickoff = httpx.get(f"{server.base_url}/results",
                           params={"tournament": "t1", "as_of": first_kickoff.isoformat()}).json()
    assert [m["status"] for m in at_kickoff["matches"]] == ["open", "scheduled", "scheduled", "scheduled"]
    after_round_1 = httpx.get(f"{server.base_url}/results", params={
        "tournament": "t1", "as_of": (first_kickoff + timedelta(days=1)).isoformat()}).json()
    assert [m["status"] for m in after_round_1["matches"]] == ["ended", "ended", "scheduled", "scheduled"]
    assert after_round_1["matches"][:2] == final["matches"][:2]
    assert httpx.get(f"{server.base_url}/results", params={"tournament": "t1"}).json() == final  # deterministic


def test_bad_requests_and_unknown_routes(server, tmp_path):
    assert httpx.get(f"{server.base_url}/fixtures").status_code == 400
    assert httpx.get(f"{server.base_url}/results", params={"tournament": "t1", "as_of": "2025-01-01"}).status_code \
        == 400  # no offset
    assert httpx.get(f"{server.base_url}/standings").status_code == 404
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"tournament": {"tournament_id": "cup"}, "rounds": [], "matches": []}))
    with FixturesServer(ReplayFixturesSource(path)) as base_url:
        assert httpx.get(f"{base_url}/fixtures", params={"tournament": "cup"}).status_code == 200
        missing = httpx.get(f"{base_url}/fixtures", params={"tournament": "t1"})
        assert missing.status_code == 404 and "has no tournament 't1'" in missing.json()["error"]


def test_the_client_retries_5xx_with_one_idempotency_key_and_says_what_failed(server):
    server.faults.fail_next(2, route="/fixtures", status=503)
    payload = _client(server).fetch("fixtures", "t1", idempotency_key="k1")
    assert payload["tournament"]["tournament_id"] == "t1"
    assert server.request_counts["/fixtures"] == 3 and dict(server.idempotency_keys) == {"k1": 3}
    server.faults.start_outage()
    with pytest.raises(ProviderUnavailable, match=r"after 3 attempt\(s\): HTTP 503"):
        _client(server).fetch("results", "t1", idempotency_key="k2")
    server.faults.end_outage()
    with pytest.raises(ProviderRejected):
        FixturesProvider(ProviderClient("fixtures", server.base_url, sleep=lambda s: None)).client.get_json(
            "/nowhere")


def test_sources_by_their_cli_spelling(tmp_path):
    assert open_fixtures_source("synthetic:3").season("t")["tournament"]["tournament_id"] == "t"
    assert SyntheticFixturesSource(seed=3).season("t") == open_fixtures_source("synthetic:3").season("t")
    assert SyntheticFixturesSource(seed=3).season("t") != SyntheticFixturesSource(seed=4).season("t")
    with pytest.raises(ValueError, match="replay:FILE"):
        open_fixtures_source("ftp:x")
