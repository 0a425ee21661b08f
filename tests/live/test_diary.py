"""The diary sync creates matches, once, in UTC Unix seconds; it never touches a stored match."""
from __future__ import annotations

import httpx
import pytest

from shared.live.diary import BadDiaryRequest, days_of, sync_day, unix_seconds
from shared.live.provider import LiveProvider
from shared.resilience import ProviderClient, ProviderRegistry
from tests.live.conftest import update

DIARY = {"matches": [
    {"match_id": "a1", "competition": "Cup", "home_team": "H", "away_team": "A",
     "match_time": "2025-12-29T20:00:00+03:00", "cup": True},
    {"match_id": "a2", "home_team": "X", "away_team": "Y", "match_time": 1_767_040_000},
    {"match_id": "bad", "match_time": "2025-12-29T20:00:00"},  # no offset: refused, not guessed
]}


@pytest.fixture
def provider():
    registry = ProviderRegistry(clock=lambda: 0.0, sleep=lambda s: None)
    client = ProviderClient("diary-test", "http://provider.test", registry=registry, sleep=lambda s: None,
                            transport=httpx.MockTransport(lambda request: httpx.Response(200, json=DIARY)))
    return LiveProvider(client)


def test_the_sync_creates_each_match_in_utc_seconds(store, provider):
    counts = sync_day(store, provider, "2025-12-29")
    assert counts == {"listed": 3, "created": 2, "existing": 0, "invalid": 1}
    a1 = store.get("a1")
    assert a1["match_time"] == 1_767_027_600 and a1["diary_date"] == "2025-12-29" and a1["cup"] is True
    assert (a1["status_id"], a1["minute_text"]) == (1, "NS")


def test_running_the_sync_twice_changes_nothing(store, provider):
    sync_day(store, provider, "2025-12-29")
    store.apply(update("a2", status_id=2, provider_update_time=10))
    before = {d.path: d.version for d in store.documents.query("live_matches")}
    assert sync_day(store, provider, "2025-12-29")["created"] == 0
    assert {d.path: d.version for d in store.documents.query("live_matches")} == before


def test_unix_seconds():
    assert unix_seconds("2025-12-29T17:00:00Z") == unix_seconds("2025-12-29T20:00:00+03:00") == 1_767_027_600
    with pytest.raises(ValueError):
        unix_seconds(True)


def test_days_of():
    from datetime import date
    assert days_of({}, date(2025, 12, 31)) == ["2025-12-31", "2026-01-01"]
    with pytest.raises(BadDiaryRequest):
        days_of({"days": 99}, date(2025, 12, 31))


def test_the_scheduled_function_syncs_the_requested_days_and_refuses_bad_ones(store, provider, tmp_path):
    import json

    import flask

    from shared.live.diary import handle_diary_request
    services = type("S", (), {"documents": store.documents, "settings": None})()
    app = flask.Flask("t")
    with app.test_request_context("/", method="POST", json={"date": "2025-12-29", "days": 1}):
        response = handle_diary_request(flask.request, services=services, provider=provider)
    assert json.loads(response.get_data())["2025-12-29"]["created"] == 2
    with app.test_request_context("/", method="POST", json={"date": "yesterday"}):
        assert handle_diary_request(flask.request, services=services, provider=provider).status_code == 400
