"""The read API served by functions-framework: stored state only, minute_text and stale_reason."""
from __future__ import annotations

import functions_framework
import pytest

from shared.bootstrap import Services
from shared.config import Settings
from tests.conftest import REPO_ROOT
from tests.live.conftest import KICKOFF, add_match, update

TOKEN = "live-read-api-test-token"


class AuthenticatedClient:
    def __init__(self, client):
        self._client = client

    def get(self, path, **kwargs):
        return self._client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)

    def post(self, path, **kwargs):
        return self._client.post(path, headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)


@pytest.fixture
def client(store, monkeypatch, tmp_path):
    monkeypatch.setenv("SPORTSFLOW_DEV_TOKEN", TOKEN)
    services = Services.with_adapters(Settings(home=tmp_path), documents=store.documents)
    monkeypatch.setattr("shared.runtime.entrypoints.process_services", lambda: services)
    app = functions_framework.create_app(target="handle", source=str(REPO_ROOT / "functions/live_read_api/main.py"))
    return AuthenticatedClient(app.test_client())


def test_a_caller_without_a_token_is_refused(client):
    assert client._client.get("/matches/live").status_code == 401


def test_live_lists_live_matches_and_started_not_started_ones(client, store, clock):
    add_match(store, "live", KICKOFF)
    add_match(store, "late", KICKOFF + 60)      # status 1, its match_time has passed
    add_match(store, "later", KICKOFF + 3600)   # status 1, still ahead
    add_match(store, "done", KICKOFF - 7200)
    clock.seconds = KICKOFF
    store.apply(update("live", status_id=2, provider_update_time=1))
    store.apply(update("done", status_id=8, provider_update_time=1))
    clock.seconds = KICKOFF + 120
    body = client.get("/matches/live").get_json()
    assert [m["match_id"] for m in body["matches"]] == ["live", "late"]
    assert all("minute_text" in m for m in body["matches"])


def test_diary_lists_the_utc_date_and_refuses_a_bad_date(client, store):
    add_match(store, "a", KICKOFF)
    add_match(store, "b", KICKOFF + 86_400)
    assert [m["match_id"] for m in client.get("/matches/diary?date=2025-12-29").get_json()["matches"]] == ["a"]
    assert client.get("/matches/diary?date=29.12.2025").status_code == 400


def test_a_match_carries_its_stored_minute_text_and_its_stale_reason(client, store, clock):
    add_match(store, "m1")
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    clock.seconds = KICKOFF + 119
    fresh = client.get("/matches/m1").get_json()
    assert fresh["minute_text"] == "1'" and "stale_reason" not in fresh  # stored text, not recomputed
    clock.seconds = KICKOFF + 121
    assert client.get("/matches/m1").get_json()["stale_reason"] == "stale_live"
    assert client.get("/matches/nope").status_code == 404
    assert client.post("/matches/live").status_code == 405


def test_list_responses_are_read_once_per_second_of_store_time(client, store, clock, monkeypatch):
    add_match(store, "m1")
    reads = []
    real = store.documents.query
    monkeypatch.setattr(store.documents, "query", lambda *a, **k: reads.append(a) or real(*a, **k))
    for _ in range(5):
        assert client.get("/matches/diary?date=2025-12-29").status_code == 200
    assert len(reads) == 1
    clock.advance(1)
    client.get("/matches/diary?date=2025-12-29")
    assert len(reads) == 2
