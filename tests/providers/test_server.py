import time
from datetime import date

import httpx
import pytest

from shared.providers.faults import ProviderFaults
from shared.providers.payloads import PAYLOADS
from shared.providers.server import ROUTES, ProviderServer, open_source
from shared.providers.synthetic import SyntheticSource

DAY = date(2025, 1, 15)
SOURCE = SyntheticSource(seed=3)


@pytest.fixture
def faults() -> ProviderFaults:
    return ProviderFaults(seed=1)


@pytest.fixture
def server(faults):
    with ProviderServer(SOURCE, faults=faults) as _:
        pass  # exercise enter/exit once
    running = ProviderServer(SOURCE, faults=faults)
    running.start()
    yield running
    running.stop()


def get(server, route, **params):
    return httpx.get(f"{server.base_url}{route}", params=params, timeout=5)


def test_every_route_serves_its_payload_as_json(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    for route, scraper in ROUTES.items():
        response = get(server, route, date=DAY.isoformat())
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        payload = PAYLOADS[scraper].model_validate(response.json())
        assert payload == SOURCE.payload(scraper, DAY)
    assert server.request_counts == {route: 1 for route in ROUTES}


def test_unknown_route_is_404_and_bad_date_is_400(server):
    assert get(server, "/weather", date="2025-01-15").status_code == 404
    assert get(server, "/schedule", date="15/01/2025").status_code == 400
    missing = get(server, "/schedule")
    assert missing.status_code == 400 and "date=YYYY-MM-DD" in missing.json()["error"]
    assert server.request_counts == {"/weather": 1, "/schedule": 2}


def test_scripted_failures_hit_only_their_route_then_stop(server, faults):
    faults.fail_next(2, route="/schedule", status=500)
    assert get(server, "/props", date="2025-01-15").status_code == 200
    assert [get(server, "/schedule", date="2025-01-15").status_code for _ in range(3)] == [500, 500, 200]
    assert faults.injected == {"error": 2} and server.fault_counts() == {"error": 2}


def test_outage_fails_everything_until_cleared(server, faults):
    faults.start_outage()
    assert {get(server, route, date="2025-01-15").status_code for route in ROUTES} == {503}
    faults.end_outage()
    assert get(server, "/players", date="2025-01-15").status_code == 200


def test_hang_outlasts_the_client_timeout_and_stop_releases_it(server, faults):
    faults.hang_next(1, seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.base_url}/schedule", params={"date": "2025-01-15"}, timeout=0.3)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 2, "a hung request must not hold up shutdown"


def test_slow_answers_arrive_late_but_whole(server, faults):
    faults.slow_next(1, seconds=0.3)
    started = time.monotonic()
    response = get(server, "/schedule", date="2025-01-15")
    assert response.status_code == 200 and time.monotonic() - started >= 0.3
    assert response.json()["games"]


def test_random_faults_are_seeded():
    def decisions(seed):
        plan = ProviderFaults(seed, error_rate=0.2, hang_rate=0.1, slow_rate=0.1)
        return [getattr(plan.decide("/schedule"), "kind", None) for _ in range(200)]

    first = decisions(9)
    assert first == decisions(9) != decisions(10)
    counts = {kind: first.count(kind) for kind in ("error", "hang", "slow", None)}
    assert 20 < counts["error"] < 60 and 5 < counts["hang"] < 35 and 5 < counts["slow"] < 35


def test_chaos_preset_is_moderate():
    plan = ProviderFaults.chaos(7)
    kinds = [getattr(plan.decide("/players"), "kind", None) for _ in range(2000)]
    failing = sum(k in ("error", "hang") for k in kinds) / len(kinds)
    assert 0.03 < failing < 0.10
    assert plan.hang_seconds > 5.0 > plan.slow_seconds, "hangs outlast the SPEC's 5 s timeout; slow ones do not"


def test_fault_plan_refuses_impossible_rates():
    with pytest.raises(ValueError):
        ProviderFaults(error_rate=1.5)
    with pytest.raises(ValueError):
        ProviderFaults(error_rate=0.6, hang_rate=0.6)
    with pytest.raises(ValueError):
        ProviderFaults().fail_next(0)


def test_open_source_spellings(tmp_path):
    assert open_source("synthetic").label == "synthetic"
    assert open_source("synthetic:4").seed == 4
    from tests.providers.made_up_season import write_made_up_season
    folder = write_made_up_season(tmp_path / "replay")  # a replay folder is checked when opened
    assert open_source(f"replay:{folder}").label == f"replay:{folder}"
    for bad in ("replay:", "espn", "synthetic:x"):
        with pytest.raises(ValueError):
            open_source(bad)


def test_source_errors_become_500():
    class Broken:
        label = "broken"

        def payload(self, scraper, day):
            raise RuntimeError("boom")

    with ProviderServer(Broken()) as base_url:
        response = httpx.get(f"{base_url}/schedule", params={"date": "2025-01-15"})
    assert response.status_code == 500 and "boom" in response.json()["error"]
