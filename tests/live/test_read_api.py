"""The read API served by functions-framework: stored state only, minute_text and stale_reason."""
from __future__ import annotations

import gzip

import functions_framework
import pytest

from shared.bootstrap import Services
from shared.config import Settings
from shared.live import read_api
from tests.conftest import REPO_ROOT
from tests.live.conftest import KICKOFF, add_match, update

TOKEN = "live-read-api-test-token"


class AuthenticatedClient:
    def __init__(self, client):
        self._client = client

    def get(self, path, headers=(), **kwargs):
        return self._client.get(path, headers={"Authorization": f"Bearer {TOKEN}", **dict(headers)}, **kwargs)

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


def test_a_list_carries_only_the_list_fields_and_a_match_every_public_field(client, store, clock):
    add_match(store, "m1")
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    clock.seconds = KICKOFF + 121  # stale: the list still says why
    [listed] = client.get("/matches/live").get_json()["matches"]
    assert set(listed) == {*read_api.LIST_FIELDS, "stale_reason"}
    assert set(client.get("/matches/m1").get_json()) == {*read_api.PUBLIC_FIELDS, "stale_reason"}


def test_an_unchanged_list_is_answered_304_to_its_etag_and_a_changed_one_gets_a_new_etag(client, store, clock):
    add_match(store, "m1")
    clock.seconds = KICKOFF
    first = client.get("/matches/live")
    etag = first.headers["ETag"]
    again = client.get("/matches/live", headers={"If-None-Match": etag})
    assert (again.status_code, again.data, again.headers["ETag"]) == (304, b"", etag)
    clock.advance(read_api.CACHE.seconds)  # a new fill of the same list: same bytes, same ETag
    assert client.get("/matches/live", headers={"If-None-Match": etag}).status_code == 304
    store.apply(update(status_id=2, provider_update_time=1, home_score=1))
    clock.advance(read_api.CACHE.seconds)
    changed = client.get("/matches/live", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert changed.get_json()["matches"][0]["home_score"] == 1


def test_a_list_is_gzipped_for_a_client_that_accepts_gzip_and_plain_otherwise(client, store):
    add_match(store, "m1")
    plain = client.get("/matches/diary?date=2025-12-29")
    zipped = client.get("/matches/diary?date=2025-12-29", headers={"Accept-Encoding": "br, gzip;q=0.8"})
    assert "Content-Encoding" not in plain.headers and plain.get_json()["count"] == 1
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # one ETag per representation
    refused = client.get("/matches/diary?date=2025-12-29", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers


def test_a_match_update_is_visible_in_the_lists_once_the_cache_ttl_has_passed(client, store, clock):
    add_match(store, "m1")
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    assert client.get("/matches/live").get_json()["matches"][0]["home_score"] == 0
    client.get("/matches/diary?date=2025-12-29")
    store.apply(update(status_id=2, provider_update_time=2, home_score=2))
    clock.advance(read_api.CACHE.seconds)
    assert client.get("/matches/live").get_json()["matches"][0]["home_score"] == 2
    assert client.get("/matches/diary?date=2025-12-29").get_json()["matches"][0]["home_score"] == 2


def test_the_diary_cache_is_bounded_and_drops_the_least_recently_used_date(client, store):
    add_match(store, "m1")
    bound = read_api.CACHE.max_entries
    assert client.get("/matches/live").status_code == 200
    for day in range(1, bound + 20):  # a crawler walking the calendar
        assert client.get(f"/matches/diary?date=2024-{1 + day // 28:02d}-{1 + day % 28:02d}").status_code == 200
        client.get("/matches/live")  # kept: asked all the time
    keys = read_api.CACHE.keys(store.documents)
    assert len(keys) == bound and "live" in keys
    assert "diary:2024-01-02" not in keys  # the oldest date went first
    assert client.get("/matches/diary?date=2025-12-29").get_json()["count"] == 1  # a dropped or new key refills


def test_one_cache_key_per_date_however_it_is_spelt(client, store):
    add_match(store, "m1")
    assert client.get("/matches/diary?date=20251229").get_json()["date"] == "2025-12-29"
    client.get("/matches/diary?date=2025-12-29")
    assert [k for k in read_api.CACHE.keys(store.documents) if k.startswith("diary:")] == ["diary:2025-12-29"]
