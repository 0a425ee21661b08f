"""The minute engine: minute fields only, only when changed, never over a fresher provider write."""
from __future__ import annotations

import json

from shared.live import engine
from shared.live.engine import run_ticks, tick
from tests.live.conftest import KICKOFF, add_match, update


def _first_half(store, clock, match_id="m1"):
    add_match(store, match_id)
    clock.seconds = KICKOFF
    store.apply(update(match_id, status_id=2, provider_update_time=1))


def test_a_tick_writes_the_new_minute_and_only_the_minute_fields(store, clock):
    _first_half(store, clock)
    before = store.get("m1")
    clock.seconds = KICKOFF + 22 * 60 + 5
    report = tick(store)
    after = store.get("m1")
    assert report.written_ids == ["m1"]
    assert (after["minute"], after["minute_text"], after["last_minute_update_ts"]) == (23, "23'", KICKOFF + 1325)
    assert {k for k in after if after[k] != before.get(k)} == {"minute", "minute_text", "last_minute_update_ts"}


def test_an_unchanged_minute_is_not_written(store, clock):
    _first_half(store, clock)
    clock.seconds = KICKOFF + 5 * 60
    tick(store)
    version = store.documents.get("live_matches/m1").version
    clock.advance(15)
    report = tick(store)
    assert report.written == 0 and report.unchanged == 1
    assert store.documents.get("live_matches/m1").version == version


def test_frozen_matches_are_not_ticked(store, clock):
    _first_half(store, clock)
    store.apply(update(status_id=3, provider_update_time=2))
    version = store.documents.get("live_matches/m1").version
    clock.advance(20 * 60)
    assert tick(store).examined == 0
    assert store.documents.get("live_matches/m1").version == version


def test_a_provider_write_between_read_and_write_wins_and_the_tick_rereads(store, clock, monkeypatch):
    _first_half(store, clock)
    clock.seconds = KICKOFF + 46 * 60
    real_write = store.write_minute
    raced = []

    def racing_write(doc, shown, now):
        if not raced:  # the provider moves the match to half time just before the engine writes
            raced.append(store.apply(update(status_id=3, provider_update_time=2)))
        return real_write(doc, shown, now)

    monkeypatch.setattr(store, "write_minute", racing_write)
    report = tick(store)
    match = store.get("m1")
    assert report.conflicts == 1 and report.written == 0
    assert (match["status_id"], match["minute_text"]) == (3, "HT")


def test_one_invocation_ticks_four_times_fifteen_seconds_apart(store, clock):
    _first_half(store, clock)
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds
        clock.advance(seconds)

    reports = run_ticks(store, sleep=sleep, clock=lambda: now[0])
    assert len(reports) == 4 and sleeps == [15.0, 15.0, 15.0]


def test_the_scheduled_function_refuses_bad_tick_counts(store):
    import flask
    app = flask.Flask("t")
    services = type("S", (), {"documents": store.documents})()
    with app.test_request_context("/", method="POST", json={"ticks": 9}):
        assert engine.handle_minute_request(flask.request, services=services).status_code == 400
    with app.test_request_context("/", method="POST", json={"ticks": 1}):
        response = engine.handle_minute_request(flask.request, services=services, sleep=lambda s: None)
    assert response.status_code == 200 and json.loads(response.get_data())["ticks"][0]["examined"] == 0
