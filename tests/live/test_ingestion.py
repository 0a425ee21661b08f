"""Pushes through Pub/Sub (the embedded bus and the real runtime), polls through the resilience client."""
from __future__ import annotations

import json
import logging

import httpx
import pytest

from shared.adapters.local.bus import LocalBus
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import encode
from shared.live.ingestion import TOPIC, RateMeter, poll_once
from shared.live.provider import LiveProvider
from shared.resilience import ProviderClient, ProviderRegistry
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment
from tests.live.conftest import KICKOFF, add_match, update


@pytest.fixture
def services(store, tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(), documents=store.documents)
    EmbeddedDeployment(services).deploy()
    return services


def push(services, message):
    encoded = encode(message, run_id="r", correlation_id="c")
    services.bus.publish(TOPIC, encoded.data, encoded.attributes)
    services.bus.drain(max_seconds=24 * 3600)


def test_a_push_is_applied_through_the_transition(services, store, clock):
    add_match(store)
    clock.seconds = KICKOFF + 3
    push(services, update(status_id=2, provider_update_time=7, home_score=1))
    match = store.get("m1")
    assert (match["status_id"], match["home_score"], match["last_event_ts"]) == (2, 1, KICKOFF + 3)


def test_duplicated_and_reordered_pushes_keep_the_newest_state(services, store):
    add_match(store)
    for ptu, score in [(3, 2), (1, 0), (3, 2), (2, 1), (1, 0)]:
        push(services, update(provider_update_time=ptu, home_score=score))
    assert (store.get("m1")["provider_update_time"], store.get("m1")["home_score"]) == (3, 2)


def test_a_push_for_a_match_not_in_the_diary_is_dead_lettered_with_what_to_do(services, store):
    push(services, update(match_id="ghost"))
    [letter] = list_dead_letters(services.documents, TOPIC)
    assert letter["error_kind"] == "permanent_error" and "diary sync" in letter["reason"]
    assert store.get("ghost") is None


def test_a_push_that_does_not_parse_is_dead_lettered(services):
    services.bus.publish(TOPIC, b'{"not": "an envelope"}', {})
    services.bus.drain(max_seconds=24 * 3600)
    assert len(list_dead_letters(services.documents, TOPIC)) == 1


def _provider(handler) -> LiveProvider:
    registry = ProviderRegistry(clock=lambda: 0.0, sleep=lambda s: None)
    return LiveProvider(ProviderClient("live-test", "http://provider.test", transport=httpx.MockTransport(handler),
                                       registry=registry, sleep=lambda s: None))


def test_a_poll_applies_every_entry_and_dead_letters_the_bad_ones(services, store):
    add_match(store, "m1")
    add_match(store, "m2")
    body = {"results": [
        {"match_id": "m2", "status_id": 2, "provider_update_time": 5},
        {"match_id": "m1", "status_id": 4, "provider_update_time": 9, "home_score": 2},
        {"match_id": "m1", "status_id": 99, "provider_update_time": 10},
        {"match_id": "zz", "status_id": 2, "provider_update_time": 1},
    ]}
    provider = _provider(lambda request: httpx.Response(200, json=body))
    summary = poll_once(services, provider)
    services.bus.drain(max_seconds=24 * 3600)
    assert summary["verdicts"] == {"accepted": 2, "unknown_match": 1, "invalid": 1}
    assert store.get("m1")["status_id"] == 4 and store.get("m2")["status_id"] == 2
    kinds = sorted(letter["error_kind"] for letter in list_dead_letters(services.documents, TOPIC))
    assert kinds == ["invalid_provider_update", "unknown_match"]


def test_polls_are_retried_on_5xx_through_the_resilience_client(services, store):
    add_match(store)
    answers = iter([httpx.Response(503), httpx.Response(200, json={"results": [
        {"match_id": "m1", "status_id": 2, "provider_update_time": 5}]})])
    poll_once(services, _provider(lambda request: next(answers)))
    assert store.get("m1")["provider_update_time"] == 5


def test_detail_live_selects_the_match_by_id_never_by_position():
    body = {"results": [{"match_id": "other", "status_id": 8, "provider_update_time": 99},
                        {"match_id": "m1", "status_id": 2, "provider_update_time": 4}]}
    provider = _provider(lambda request: httpx.Response(200, json=body))
    assert provider.detail_live("m1").provider_update_time == 4
    assert provider.detail_live("missing") is None


def test_the_rate_is_logged_every_100_messages_or_30_seconds_never_per_message(caplog):
    caplog.set_level(logging.DEBUG, logger="sportsflow")
    now = [0.0]
    meter = RateMeter("push", clock=lambda: now[0])
    for _ in range(250):
        meter.record("accepted")
    now[0] = 31.0
    meter.record("stale")
    lines = [r for r in caplog.records if r.getMessage() == "live.ingest.rate"]
    assert [r.fields["messages_since_last"] for r in lines] == [100, 100, 51]
    assert lines[-1].fields["verdicts"] == {"accepted": 50, "stale": 1}
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.getMessage() != "live.ingest.rate"]


def test_the_poll_function_answers_503_when_the_provider_is_down(services, store):
    import flask

    from shared.live.ingestion import handle_poll_request
    with flask.Flask("t").test_request_context("/", method="POST"):
        response = handle_poll_request(flask.request, services=services,
                                       provider=_provider(lambda request: httpx.Response(500)))
    assert response.status_code == 503 and "next scheduled poll" in json.loads(response.get_data())["error"]
