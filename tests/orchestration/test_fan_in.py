"""Phase 3→4 fan-in: Phase 4 is triggered exactly once per date under duplicates, any
arrival order, concurrent last completions, lost acks and publish failures after the claim."""
from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import date, timedelta

import pytest

from shared.adapters.local.bus import LocalBus, RealClock
from shared.adapters.local.bus_faults import FaultPlan
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.contracts import AnalyticsCompleted, PrecomputeTrigger, decode, encode
from shared.contracts.envelope import Envelope
from shared.orchestration.fan_in import FanInLedger
from shared.orchestration.handlers import handle_analytics_completed
from shared.runtime import PubSubFunction
from shared.runtime.context import FunctionContext
from shared.topology import TOPOLOGY, SubscriptionSpec

FUNCTION = TOPOLOGY.function("phase3_to_phase4_orchestrator")
PHASE3 = sorted(TOPOLOGY.phase3_required)


class FlakyPublishBus:
    """The real bus, whose publishes to `topic` fail at random (seeded) — as if Pub/Sub were
    briefly unavailable right after the orchestrator claimed the trigger."""

    def __init__(self, bus, topic: str, failure_rate: float, seed: int):
        self._bus, self._topic, self._rate = bus, topic, failure_rate
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.failures = 0
        self.published: list[bytes] = []

    def publish(self, topic, data, attributes=None, ordering_key=""):
        if topic == self._topic:
            with self._lock:
                fail = self._rng.random() < self._rate
                self.failures += fail
            if fail:
                raise ConnectionError("publish failed: Pub/Sub unavailable")
        message_id = self._bus.publish(topic, data, attributes, ordering_key)
        if topic == self._topic:
            with self._lock:
                self.published.append(data)
        return message_id

    def __getattr__(self, name):
        return getattr(self._bus, name)


def completions(day: date) -> list[tuple[bytes, dict]]:
    out = []
    for name in PHASE3:
        encoded = encode(AnalyticsCompleted(processor_name=name, analysis_date=day, success=True,
                                            records_processed=10), run_id=f"run-{name}", correlation_id="corr")
        out.append((encoded.data, encoded.attributes))
    return out


def run_interleaving(seed: int, tmp_path) -> tuple[Counter, int, int, dict]:
    rng = random.Random(seed)
    days = [date(2025, 1, 1) + timedelta(days=i) for i in range(rng.randint(1, 3))]
    bus = LocalBus(clock=RealClock(scale=1000), faults=FaultPlan(
        seed=seed, duplicate_probability=rng.choice([0.3, 1.0]), reorder=True, lost_ack_probability=0.2))
    bus.create_topic("phase3-analytics-complete")
    bus.create_topic("phase4-trigger")
    bus.create_subscription(SubscriptionSpec(name="orchestrator", topic="phase3-analytics-complete",
                                             dead_letter_topic="phase3-analytics-complete-dead-letter",
                                             max_delivery_attempts=100, min_backoff_s=10, max_backoff_s=20))
    flaky = FlakyPublishBus(bus, "phase4-trigger", failure_rate=0.3, seed=seed)
    documents = SqliteDocumentStore(tmp_path / f"fanin-{seed}.sqlite")
    services = Services.with_adapters(Settings(home=tmp_path), bus=flaky, documents=documents)
    bus.attach("orchestrator", PubSubFunction(FUNCTION, TOPOLOGY, handle_analytics_completed,
                                              lambda: services).on_received)
    messages = [m for day in days for m in completions(day)]
    rng.shuffle(messages)
    bus.start(workers=8)
    try:
        for data, attributes in messages:
            bus.publish("phase3-analytics-complete", data, attributes)
        assert bus.wait_until_idle(timeout=60), "bus did not settle"
    finally:
        bus.stop()
    # Count what was really published (the bus's own duplicate deliveries are not publishes).
    triggers = Counter()
    for data in flaky.published:
        trigger = decode(data).message
        assert isinstance(trigger, PrecomputeTrigger)
        triggers[trigger.analysis_date] += 1
    claims = {day: FanInLedger(documents).claims(day) for day in days}
    documents.close()
    return triggers, len(days), flaky.failures, claims


@pytest.mark.parametrize("seed", range(100))
def test_phase4_triggered_exactly_once_per_date(seed, tmp_path):
    triggers, n_days, publish_failures, claims = run_interleaving(seed, tmp_path)
    assert len(triggers) == n_days
    assert set(triggers.values()) == {1}, f"duplicate or missing triggers: {triggers}"
    for day_claims in claims.values():
        assert [c["target"] for c in day_claims] == ["phase4"] and day_claims[0]["published"] is True


def test_the_fault_injection_is_real(tmp_path):
    """Across the seeds, publishes really failed and messages really were duplicated."""
    total_failures = sum(run_interleaving(seed, tmp_path)[2] for seed in range(10))
    assert total_failures > 0


def direct_context(services, message_id: str) -> FunctionContext:
    envelope = Envelope(message_type="AnalyticsCompleted", schema_version=1, message_id=message_id,
                        run_id="r", correlation_id="c", payload={})
    return FunctionContext(function=FUNCTION, envelope=envelope, delivery_attempt=1, services=services)


def test_crash_after_claim_before_publish_is_recovered_by_the_redelivery(tmp_path):
    bus = LocalBus()
    bus.create_topic("phase4-trigger")
    bus.create_subscription(SubscriptionSpec(name="triggers", topic="phase4-trigger", dead_letter_topic=None))
    flaky = FlakyPublishBus(bus, "phase4-trigger", failure_rate=1.0, seed=0)
    services = Services.with_adapters(Settings(home=tmp_path), bus=flaky,
                                      documents=SqliteDocumentStore(tmp_path / "d.sqlite"))
    day = date(2025, 1, 15)
    msgs = [AnalyticsCompleted(processor_name=n, analysis_date=day, success=True) for n in PHASE3]
    for i, m in enumerate(msgs[:-1]):
        handle_analytics_completed(m, direct_context(services, f"m{i}"))
    with pytest.raises(ConnectionError):  # the last completion claims, then the publish fails
        handle_analytics_completed(msgs[-1], direct_context(services, "last"))
    assert bus.pull("triggers", timeout=0) == []
    flaky._rate = 0.0
    handle_analytics_completed(msgs[0], direct_context(services, "m0"))  # someone else's duplicate: not theirs
    assert bus.pull("triggers", timeout=0) == []
    handle_analytics_completed(msgs[-1], direct_context(services, "last"))  # Pub/Sub redelivers the last one
    assert len(bus.pull("triggers", max_messages=10, timeout=0)) == 1
    handle_analytics_completed(msgs[-1], direct_context(services, "last"))  # and again: already published
    assert bus.pull("triggers", timeout=0) == []


def test_a_claim_orphaned_for_good_is_published_by_a_later_delivery(tmp_path):
    from datetime import datetime, timezone
    day, clock = date(2025, 1, 15), [datetime(2025, 1, 16, 6, 0, tzinfo=timezone.utc)]
    ledger = FanInLedger(SqliteDocumentStore(tmp_path / "d.sqlite", clock=lambda: clock[0]))
    stale, v = timedelta(minutes=10), "inputs-v1"
    assert ledger.claim(day, "phase4", v, orchestrator="o", claimant="lost", attempt="a1").won_now
    # The winner is publishing (its lease is live): neither it again nor anyone else may.
    assert not ledger.take_publish_lease(day, "phase4", v, claimant="lost", attempt="a2", stale_after=stale)
    assert not ledger.take_publish_lease(day, "phase4", v, claimant="other", attempt="b1", stale_after=stale)
    clock[0] += timedelta(minutes=11)  # the winner crashed and its message never came back
    assert ledger.take_publish_lease(day, "phase4", v, claimant="other", attempt="b2", stale_after=stale)
    assert not ledger.take_publish_lease(day, "phase4", v, claimant="other", attempt="b3", stale_after=stale)
    ledger.mark_published(day, "phase4", v, "msg-1")
    assert not ledger.take_publish_lease(day, "phase4", v, claimant="lost", attempt="a3", stale_after=stale)


def test_failed_completions_are_recorded_as_failed_parts_and_trigger_nothing(tmp_path):
    bus = LocalBus()
    bus.create_topic("phase4-trigger")
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus,
                                      documents=SqliteDocumentStore(tmp_path / "d.sqlite"))
    day = date(2025, 1, 15)
    bus.create_subscription(SubscriptionSpec(name="triggers", topic="phase4-trigger", dead_letter_topic=None))
    for i, name in enumerate(PHASE3[1:]):
        handle_analytics_completed(AnalyticsCompleted(processor_name=name, analysis_date=day, success=True),
                                   direct_context(services, f"ok{i}"))
    handle_analytics_completed(AnalyticsCompleted(processor_name=PHASE3[0], analysis_date=day, success=False,
                                                  error="boom"), direct_context(services, "x"))
    part = FanInLedger(services.documents).parts(day)[PHASE3[0]]
    assert part["succeeded"] is False and part["error"] == "boom"
    assert bus.pull("triggers", timeout=0) == []
    from shared.pipeline.status import date_status
    phase3 = next(p for p in date_status(services.documents, day).phases if p.phase == 3)
    assert phase3.failed == {PHASE3[0]: "boom"} and PHASE3[0] in phase3.missing
