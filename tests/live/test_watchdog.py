"""The watchdog: stale and frozen rules, the warn → reconcile → error ladder, never over newer state."""
from __future__ import annotations

import json
import logging

import pytest

from shared.live.watchdog import ALERT_MESSAGE, Watchdog, stale_reason
from tests.live.conftest import KICKOFF, add_match, update


def _live(store, clock, status_id=2):
    add_match(store)
    clock.seconds = KICKOFF
    store.apply(update(status_id=2, provider_update_time=1))
    if status_id != 2:
        store.apply(update(status_id=status_id, provider_update_time=2))


@pytest.mark.parametrize("status_id, quiet, reason", [
    (2, 120, None), (2, 121, "stale_live"), (4, 121, "stale_live"), (7, 121, "stale_live"),
    (3, 899, None), (3, 901, "stale_half_time"), (1, 10_000, None), (8, 10_000, None),
])
def test_stale_rules(status_id, quiet, reason):
    match = {"status_id": status_id, "last_event_ts": 1000, "status_since_ts": 1000, "created_at": 0}
    assert stale_reason(match, 1000 + quiet) == reason


def test_half_time_over_thirty_minutes_is_frozen_even_with_events():
    match = {"status_id": 3, "last_event_ts": 1000 + 1800, "status_since_ts": 1000, "created_at": 0}
    assert stale_reason(match, 1000 + 1801) == "frozen_half_time"


def _alerts(caplog):
    return [r for r in caplog.records if r.getMessage() == ALERT_MESSAGE]


def test_the_ladder_warns_then_reconciles_then_errors(store, clock, caplog):
    _live(store, clock)
    polls = []
    watchdog = Watchdog(store, lambda match_id: polls.append(match_id) or update(provider_update_time=1))
    clock.advance(200)
    caplog.set_level(logging.INFO, logger="sportsflow")
    steps = [watchdog.run().steps["m1"] for _ in range(4)]
    assert steps == [1, 2, 3, 3]
    assert polls == ["m1", "m1", "m1"]  # reconcile from step 2 on
    alerts = _alerts(caplog)
    assert [(a.levelname, a.fields["ladder_step"]) for a in alerts] == [
        ("WARNING", "warn"), ("WARNING", "reconcile"), ("ERROR", "error"), ("ERROR", "error")]
    fields = alerts[0].fields
    assert {k: fields[k] for k in ("match_id", "status_id", "provider_update_time", "last_event_ts", "reason")} == {
        "match_id": "m1", "status_id": 2, "provider_update_time": 1, "last_event_ts": KICKOFF, "reason": "stale_live"}


def test_a_reconcile_with_newer_provider_state_heals_and_resets_the_ladder(store, clock):
    _live(store, clock)
    clock.advance(200)
    watchdog = Watchdog(store, lambda match_id: update(status_id=2, provider_update_time=9, home_score=1))
    watchdog.run()
    report = watchdog.run()
    assert report.reconciled == {"m1": "accepted"}
    assert store.get("m1")["home_score"] == 1
    assert watchdog.run().flagged == {}
    assert store.documents.query("live_watchdog") == []


def test_a_reconcile_never_overwrites_newer_provider_state(store, clock):
    _live(store, clock)
    store.apply(update(status_id=2, provider_update_time=50, home_score=2))
    clock.advance(200)
    watchdog = Watchdog(store, lambda match_id: update(status_id=2, provider_update_time=10, home_score=0))
    watchdog.run()
    assert watchdog.run().reconciled == {"m1": "stale"}
    assert (store.get("m1")["home_score"], store.get("m1")["provider_update_time"]) == (2, 50)


def test_a_failing_provider_does_not_stop_the_ladder(store, clock):
    _live(store, clock)
    clock.advance(200)

    def down(match_id):
        raise OSError("provider down")

    watchdog = Watchdog(store, down)
    watchdog.run()
    assert watchdog.run().reconciled == {"m1": "provider_failed"}
    assert watchdog.run().steps == {"m1": 3}


def test_the_watchdog_never_writes_the_match_document(store, clock):
    _live(store, clock)
    clock.advance(200)
    version = store.documents.get("live_matches/m1").version
    watchdog = Watchdog(store, lambda match_id: None)
    for _ in range(3):
        watchdog.run()
    assert store.documents.get("live_matches/m1").version == version


def test_the_scheduled_function_runs_a_pass(store, clock):
    import flask

    from shared.live.watchdog import handle_watchdog_request
    _live(store, clock)
    clock.advance(200)
    services = type("S", (), {"documents": store.documents, "settings": None})()
    with flask.Flask("t").test_request_context("/", method="POST"):
        response = handle_watchdog_request(flask.request, services=services, poll=lambda m: None)
    assert json.loads(response.get_data())["flagged"] == {"m1": "stale_live"}
