"""The topology on the embedded bus: functions wired, dead letters of both kinds recorded, nothing lost."""
from datetime import date, datetime, timezone

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, encode
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import TransientError
from shared.topology import TOPOLOGY

TOPIC = "phase3-analytics-complete"
GOOD = AnalyticsCompleted(processor_name="player_game_summary", analysis_date=date(2025, 1, 15), success=True)


@pytest.fixture
def services(tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(),
                                      documents=SqliteDocumentStore(tmp_path / "docs.sqlite"))
    yield services
    services.close()


def publish(services, data: bytes, attributes=None):
    services.bus.publish(TOPIC, data, attributes or {})
    services.bus.drain(max_seconds=24 * 3600)  # virtual time: covers every backoff


def test_every_topic_and_subscription_of_the_topology_exists(services):
    EmbeddedDeployment(services, handlers={}).deploy()
    assert set(services.bus.topics()) >= {t.name for t in TOPOLOGY.topics} | {t.dead_letter_topic
                                                                               for t in TOPOLOGY.topics}
    for subscription in TOPOLOGY.subscriptions:
        assert services.bus.subscription_spec(subscription.name) == subscription


def test_handled_message_leaves_no_dead_letter(services):
    seen = []
    deployment = EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator":
                                                        lambda m, c: seen.append(m)}).deploy()
    assert "phase3_to_phase4_orchestrator" in deployment.deployed
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    publish(services, encoded.data, encoded.attributes)
    assert seen == [GOOD]
    assert list_dead_letters(services.documents) == []


def test_invalid_message_is_recorded_once_with_its_reason(services):
    EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator": lambda m, c: None}).deploy()
    before = datetime.now(timezone.utc)
    publish(services, b"{broken json")
    publish(services, b"{broken json")  # the same bad message again: recorded once
    [letter] = list_dead_letters(services.documents, TOPIC)
    assert letter["error_kind"] == "not_json" and letter["function"] == "phase3_to_phase4_orchestrator"
    assert list_dead_letters(services.documents, since=before) == [letter]
    assert list_dead_letters(services.documents, since=datetime.now(timezone.utc)) == []


def test_message_failing_transiently_forever_is_dead_lettered_after_max_attempts(services):
    attempts = []

    def always_down(message, ctx):
        attempts.append(ctx.delivery_attempt)
        raise TransientError("warehouse unavailable")

    EmbeddedDeployment(services, handlers={"phase3_to_phase4_orchestrator": always_down}).deploy()
    encoded = encode(GOOD, run_id="r", correlation_id="c")
    publish(services, encoded.data, encoded.attributes)
    max_attempts = TOPOLOGY.subscription_for_function("phase3_to_phase4_orchestrator").max_delivery_attempts
    assert attempts == list(range(1, max_attempts + 1))  # retried, but not forever
    [letter] = list_dead_letters(services.documents, TOPIC)
    assert letter["error_kind"] == "max_delivery_attempts_exceeded"
    assert letter["delivery_attempt"] == max_attempts


def test_unimplemented_functions_are_reported_not_faked(services):
    deployment = EmbeddedDeployment(services).deploy()
    pushed = {s.push_function for s in TOPOLOGY.subscriptions if s.push_function}  # topic functions, push routes
    assert set(deployment.deployed) | set(deployment.not_implemented) == pushed


def test_an_http_functions_push_routes_are_delivered_like_pubsub_push(services):
    """The Phase 5 coordinator is HTTP; its /trigger and /ready push routes are routed on the bus."""
    deployment = EmbeddedDeployment(services).deploy()
    coordinator_routes = {s.name for s in TOPOLOGY.subscriptions if s.push_function == "phase5_coordinator"}
    assert coordinator_routes and coordinator_routes <= set(deployment.routes)
    assert "phase5_coordinator" in deployment.deployed
