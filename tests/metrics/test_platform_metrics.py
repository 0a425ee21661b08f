"""The platform's own metric points, each recorded where its event happens (through the one
interface) and only then: a real retry, a real dead letter of each kind, a real fan-in completion, a
breaker opening, a drained backlog. Each test also shows the point is absent without its event."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, encode
from shared.metrics.recorder import process_metrics
from shared.orchestration.fan_in import FanInLedger
from shared.resilience.circuit_breaker import CircuitBreaker
from shared.resilience.policy import BreakerPolicy
from shared.runtime.embedded import EmbeddedDeployment
from shared.runtime.errors import PermanentError, TransientError
from shared.topology import TOPOLOGY

TOPIC = "phase3-analytics-complete"
ORCHESTRATOR = "phase3_to_phase4_orchestrator"
DAY = date(2025, 1, 15)


@pytest.fixture
def services(tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path),
                                      documents=SqliteDocumentStore(tmp_path / "documents.sqlite"))
    yield services
    services.close()


def points(services, name: str):
    now = datetime.now(timezone.utc)
    return process_metrics(services.settings).points(name, now - timedelta(hours=1), now + timedelta(minutes=1))


def labels(services, name: str, *keys: str) -> list[tuple]:
    return [tuple(p.labels.get(k) for k in keys) for p in points(services, name)]


def completion(processor: str = "player_game_summary") -> AnalyticsCompleted:
    return AnalyticsCompleted(processor_name=processor, analysis_date=DAY, success=True)


def deliver(services, message, *, handler=None) -> None:
    overrides = {ORCHESTRATOR: handler} if handler else {}
    noop = {f.name: (lambda m, c: None) for f in TOPOLOGY.functions if f.name != ORCHESTRATOR and f.trigger == "topic"}
    EmbeddedDeployment(services, handlers={**noop, **overrides}).deploy()
    publish(services, message)


def publish(services, message) -> None:
    encoded = encode(message, run_id="r", correlation_id="c") if not isinstance(message, bytes) else None
    services.bus.publish(TOPIC, encoded.data if encoded else message, encoded.attributes if encoded else {})
    services.bus.drain(max_seconds=24 * 3600)


# --- retries and dead letters (shared/runtime/pubsub_function.py, dead_letters.py) ---------------

def test_a_handler_failing_transiently_records_a_retry_and_no_dead_letter(services) -> None:
    calls = []

    def flaky(message, ctx):
        calls.append(ctx.delivery_attempt)
        if len(calls) == 1:
            raise TransientError("warehouse busy")

    deliver(services, completion(), handler=flaky)
    assert calls == [1, 2]
    assert labels(services, "retry", "function", "topic", "error", "delivery_attempt") == [
        (ORCHESTRATOR, TOPIC, "TransientError", 1)]
    assert points(services, "dead_letter") == []


def test_a_handled_message_records_neither_retry_nor_dead_letter(services) -> None:
    deliver(services, completion(), handler=lambda m, c: None)
    assert points(services, "retry") == [] and points(services, "dead_letter") == []


def test_a_permanent_error_and_bad_input_are_dead_letter_points_with_their_kind(services) -> None:
    def refuses(message, ctx):
        raise PermanentError("no such processor")

    deliver(services, completion(), handler=refuses)
    publish(services, b"{broken json")
    assert labels(services, "dead_letter", "function", "source_topic", "error_kind") == [
        (ORCHESTRATOR, TOPIC, "permanent_error"), (ORCHESTRATOR, TOPIC, "not_json")]
    assert points(services, "retry") == []


def test_a_message_pub_sub_gave_up_on_is_one_dead_letter_point_after_its_retries(services) -> None:
    def always_down(message, ctx):
        raise TransientError("warehouse unavailable")

    deliver(services, completion(), handler=always_down)
    attempts = TOPOLOGY.subscription_for_function(ORCHESTRATOR).max_delivery_attempts
    assert [p.labels["delivery_attempt"] for p in points(services, "retry")] == list(range(1, attempts + 1))
    subscription = TOPOLOGY.subscription_for_function(ORCHESTRATOR).name
    assert labels(services, "dead_letter", "function", "source_topic", "error_kind") == [
        (subscription, TOPIC, "max_delivery_attempts_exceeded")]


# --- fan-in progress (shared/orchestration/handlers.py) ---------------------------------------------

def test_each_new_part_of_a_fan_in_records_its_progress_and_a_duplicate_does_not(services) -> None:
    required = sorted(TOPOLOGY.phase3_required)
    deploy_only_the_orchestrator(services)
    for processor in required[:-1]:
        publish(services, completion(processor))
    publish(services, completion(required[0]))  # a redelivered duplicate: the fan-in did not move
    progress = points(services, "fan_in_progress")
    assert [p.value for p in progress] == list(range(1, len(required)))
    assert {(p.labels["orchestrator"], p.labels["analysis_date"], p.labels["expected"]) for p in progress} == {
        (ORCHESTRATOR, DAY.isoformat(), len(required))}
    publish(services, completion(required[-1]))  # the last part: the fan-in completes and fires Phase 4
    assert points(services, "fan_in_progress")[-1].value == len(required)
    assert [c["target"] for c in FanInLedger(services.documents).claims(DAY) if c.get("published")] == ["phase4"]


def test_no_completion_no_fan_in_progress(services) -> None:
    deploy_only_the_orchestrator(services)
    assert points(services, "fan_in_progress") == []


def deploy_only_the_orchestrator(services) -> None:
    noop = {f.name: (lambda m, c: None) for f in TOPOLOGY.functions if f.name != ORCHESTRATOR and f.trigger == "topic"}
    EmbeddedDeployment(services, handlers=noop).deploy()


# --- breaker state (shared/resilience/circuit_breaker.py via shared/metrics/breakers.py) ----------

class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_breaker_opening_half_opening_and_closing_records_each_state(services) -> None:
    clock = Clock()
    breaker = CircuitBreaker("metrics-test-provider", BreakerPolicy(), clock=clock)
    for _ in range(BreakerPolicy().failure_threshold):
        breaker.acquire().record_failure()
    assert labels(services, "breaker_state", "provider", "state", "from_state") == [
        ("metrics-test-provider", "open", "closed")]
    assert points(services, "breaker_state")[-1].value == 2.0
    clock.now += BreakerPolicy().open_seconds
    breaker.acquire().record_success()  # the half-open probe succeeds
    assert [(p.labels["state"], p.value) for p in points(services, "breaker_state")] == [
        ("open", 2.0), ("half_open", 1.0), ("closed", 0.0)]


def test_a_breaker_that_never_trips_records_nothing(services) -> None:
    breaker = CircuitBreaker("metrics-quiet-provider", BreakerPolicy(), clock=Clock())
    for _ in range(BreakerPolicy().failure_threshold - 1):
        breaker.acquire().record_failure()
    breaker.acquire().record_success()
    assert points(services, "breaker_state") == []


# --- queue backlog (shared/adapters/local/bus.py drain via shared/metrics/backlog.py) --------------

def test_a_drain_samples_the_backlog_of_each_subscription_before_and_after(services) -> None:
    deploy_only_the_orchestrator(services)
    subscription = TOPOLOGY.subscription_for_function(ORCHESTRATOR).name
    for processor in sorted(TOPOLOGY.phase3_required)[:3]:
        encoded = encode(completion(processor), run_id="r", correlation_id="c")
        services.bus.publish(TOPIC, encoded.data, encoded.attributes)
    assert points(services, "queue_backlog") == []  # nothing sampled until a drain
    services.bus.drain(max_seconds=3600)
    mine = [p.value for p in points(services, "queue_backlog") if p.labels["subscription"] == subscription]
    assert mine[0] == 3 and mine[-1] == 0
