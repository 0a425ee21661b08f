"""The crash windows of issue #7, one test each: a fault between two effects must never lose a
trigger, pin a date, overwrite a winner or double an effect — and must leave the same tables
as a run without it."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest

from shared.contracts import AnalyticsCompleted, AnalyticsTrigger, decode
from shared.contracts.envelope import Envelope
from shared.orchestration.dependency_graph import ClaimNotYetPublished
from shared.orchestration.fan_in import FanInLedger
from shared.orchestration.handlers import handle_analytics_completed
from shared.pipeline import run_history
from shared.pipeline.phase3.handler import handle_analytics_trigger
from shared.pipeline.run_history import LeaseLost, LeasePolicy, RunInProgressElsewhere, RunStatus
from shared.runtime import crash_points
from shared.runtime.context import FunctionContext
from shared.runtime.crash_points import SimulatedCrash
from shared.runtime.dead_letters import list_dead_letters
from shared.topology import TOPOLOGY, SubscriptionSpec
from tests.exactly_once.harness import (
    DAY,
    FireAt,
    checksums,
    for_processor,
    for_target,
    open_pipeline,
    run_with,
    successes,
)

PHASE3 = sorted(TOPOLOGY.phase3_required)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The tables and counts of an undisturbed run of DAY."""
    with open_pipeline(tmp_path_factory.mktemp("clean")) as pipeline:
        report = pipeline.run_date(DAY)
        return checksums(report), report.triggers, successes(pipeline)


@contextmanager
def healed_after(tmp_path, clean, injector):
    """A run of DAY with `injector` firing once: it must still equal the clean run."""
    with open_pipeline(tmp_path) as pipeline:
        report = run_with(pipeline, injector)
        assert injector.fired == 1
        assert_like_clean(pipeline, report, clean)
        yield pipeline


def assert_like_clean(pipeline, report, clean):
    tables, triggers, runs = clean
    assert report.finished, report.missing
    assert checksums(report) == tables
    assert report.triggers == triggers
    assert successes(pipeline) == runs, "a processor succeeded more (or fewer) times than in a clean run"
    assert report.dead_letters == []


# --- 1. a kill between claim and publish --------------------------------------------------------
class Clock:
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now


def context(services, message_id: str, function: str = "phase3_to_phase4_orchestrator") -> FunctionContext:
    envelope = Envelope(message_type="AnalyticsCompleted", schema_version=1, message_id=message_id,
                        run_id="r", correlation_id="c", payload={})
    return FunctionContext(function=TOPOLOGY.function(function), envelope=envelope, delivery_attempt=1,
                           services=services)


@pytest.fixture
def orchestrator_services(tmp_path):
    from datetime import datetime, timezone

    from shared.adapters.local.bus import LocalBus
    from shared.adapters.local.documents import SqliteDocumentStore
    from shared.bootstrap import Services
    from shared.config import Settings

    clock = Clock(datetime(2025, 1, 16, 6, 0, tzinfo=timezone.utc))
    bus = LocalBus()
    bus.create_topic("phase4-trigger")
    bus.create_subscription(SubscriptionSpec(name="triggers", topic="phase4-trigger", dead_letter_topic=None))
    services = Services.with_adapters(Settings(home=tmp_path), bus=bus,
                                      documents=SqliteDocumentStore(tmp_path / "d.sqlite", clock=clock))
    return services, clock


def test_a_kill_between_claim_and_publish_keeps_the_message_until_the_trigger_is_out(orchestrator_services):
    services, clock = orchestrator_services
    completions = [AnalyticsCompleted(processor_name=n, analysis_date=DAY, success=True, run_fence=1)
                   for n in PHASE3]
    for i, message in enumerate(completions[:-1]):
        handle_analytics_completed(message, context(services, f"m{i}"))
    crash_points.install(FireAt(crash_points.FANIN_CLAIMED))
    try:
        with pytest.raises(SimulatedCrash):  # the last completion claims Phase 4, then the process dies
            handle_analytics_completed(completions[-1], context(services, "last"))
    finally:
        crash_points.install(None)
    # Its redelivery 10 s later meets the dead publisher's live lease: it must NOT be acked.
    clock.now += timedelta(seconds=10)
    with pytest.raises(ClaimNotYetPublished):
        handle_analytics_completed(completions[-1], context(services, "last"))
    assert services.bus.pull("triggers", timeout=0) == []
    # A duplicate of another completion may be acked: the claimant's delivery is still out.
    handle_analytics_completed(completions[0], context(services, "m0"))
    # Once the lease has run out, the next redelivery publishes — once.
    clock.now += timedelta(seconds=100)
    handle_analytics_completed(completions[-1], context(services, "last"))
    assert len(services.bus.pull("triggers", max_messages=10, timeout=0)) == 1
    handle_analytics_completed(completions[-1], context(services, "last"))
    assert services.bus.pull("triggers", timeout=0) == []


def test_a_crash_after_the_claim_heals_by_redelivery_alone(tmp_path, clean):
    with healed_after(tmp_path, clean, FireAt(crash_points.FANIN_CLAIMED, for_target("phase4"))):
        pass  # healed_after asserts it


# --- 2. a crashed processor run ---------------------------------------------------------------
def test_a_crashed_run_does_not_pin_its_date(tmp_path, clean):
    """Killed after its load: the redelivery takes over once the lease (≤ the function's
    timeout, 60 s) has run out — inside the delivery budget, without the reconciler."""
    with healed_after(tmp_path, clean, FireAt(crash_points.PROCESSOR_LOADED,
                                               for_processor("player_game_summary"))) as pipeline:
        run = run_history.runs_for(pipeline.services.documents, DAY)["player_game_summary"]
        assert run["status"] == "succeeded" and run["fence"] == 2


def test_the_run_lease_never_outlives_the_function():
    assert LeasePolicy.for_timeout(TOPOLOGY.function("phase3_analytics").timeout_s).ttl <= timedelta(seconds=540)
    assert LeasePolicy.for_timeout(30).ttl == timedelta(seconds=30)


def test_a_live_lease_defers_other_triggers_and_retries_its_own(tmp_path):
    from datetime import datetime, timezone

    from shared.adapters.local.documents import SqliteDocumentStore
    clock = Clock(datetime(2025, 1, 16, tzinfo=timezone.utc))
    documents = SqliteDocumentStore(tmp_path / "d.sqlite", clock=clock)
    lease = run_history.acquire(documents, "p", DAY, "k1", "run-a", message_id="m1", provenance={})
    with pytest.raises(RunInProgressElsewhere):  # a redelivery of m1: retry later
        run_history.acquire(documents, "p", DAY, "k1", "run-b", message_id="m1", provenance={})
    deferred = run_history.acquire(documents, "p", DAY, "k2", "run-c", message_id="m2", provenance={})
    assert isinstance(deferred, run_history.Deferred)  # another trigger: acked, the holder re-checks
    finished = run_history.finish(documents, lease, RunStatus.SUCCEEDED, records=1, data_version="v1")
    assert finished.rerun_requested


# --- 4. a zombie -------------------------------------------------------------------------------
def test_a_zombie_can_never_record_over_the_holder(tmp_path):
    from datetime import datetime, timezone

    from shared.adapters.local.documents import SqliteDocumentStore
    clock = Clock(datetime(2025, 1, 16, tzinfo=timezone.utc))
    documents = SqliteDocumentStore(tmp_path / "d.sqlite", clock=clock)
    slow = run_history.acquire(documents, "p", DAY, "k", "slow", message_id="m", provenance={})
    clock.now += timedelta(seconds=61)  # its lease ran out while it worked
    fast = run_history.acquire(documents, "p", DAY, "k", "fast", message_id="m", provenance={})
    run_history.finish(documents, fast, RunStatus.SUCCEEDED, records=3, data_version="v")
    with pytest.raises(LeaseLost):
        run_history.finish(documents, slow, RunStatus.FAILED, error="too slow")
    with pytest.raises(LeaseLost):
        run_history.finish(documents, slow, RunStatus.SUCCEEDED, records=9, data_version="zombie")
    run = documents.get(run_history.run_path("p", DAY)).data
    assert (run["status"], run["succeeded_run_id"], run["records"], run["data_version"]) == (
        "succeeded", "fast", 3, "v")
    assert not run_history.renew(documents, slow, LeasePolicy())


def test_a_run_that_outlived_its_lease_is_recomputed_not_recorded(tmp_path, clean):
    with healed_after(tmp_path, clean, FireAt(crash_points.LEASE_OUTLIVED,
                                               for_processor("player_daily_cache"))) as pipeline:
        rows = pipeline.services.warehouse.query(
            "SELECT status FROM ops.processor_run_history WHERE processor = 'player_daily_cache'", {})
        assert sorted(r["status"] for r in rows) == ["succeeded", "superseded"]


# --- 5. two publishes of one trigger --------------------------------------------------------------
def test_a_publish_that_timed_out_after_delivery_has_one_effect(tmp_path, clean):
    with open_pipeline(tmp_path) as pipeline:
        bus, sent = pipeline.services.bus, []
        real_publish = bus.publish
        bus.publish = lambda topic, data, *rest: sent.append((topic, data)) or real_publish(topic, data, *rest)
        injector = FireAt(crash_points.PUBLISH_DELIVERED, lambda ctx: ctx.get("topic") == "phase4-trigger")
        report = run_with(pipeline, injector)
        assert injector.fired == 1
        assert_like_clean(pipeline, report, clean)
        phase4_roots = [decode(data).message for topic, data in sent if topic == "phase4-trigger"
                        and decode(data).message.triggered_by == "phase3_to_phase4_orchestrator"]
        assert len(phase4_roots) == 2 and len({t.claim_id for t in phase4_roots}) == 1  # published twice, one claim


def test_two_deliveries_of_one_claims_trigger_give_one_effect(tmp_path):
    with open_pipeline(tmp_path) as pipeline:
        pipeline.run_date(DAY)
        services = pipeline.services
        sub = SubscriptionSpec(name="inspect", topic="phase3-analytics-complete", dead_letter_topic=None)
        services.bus.create_subscription(sub)
        claim = next(c for c in FanInLedger(services.documents).claims(DAY)
                     if c["target"] == "phase3/player_game_summary")
        trigger = AnalyticsTrigger(analysis_date=DAY, processor_names=("player_game_summary",),
                                   triggered_by="phase2_to_phase3_orchestrator", claim_id=claim["claim_id"])
        before = successes(pipeline)["player_game_summary"]
        for delivery in ("again-1", "again-2"):
            assert handle_analytics_trigger(trigger, context(services, delivery, "phase3_analytics")) == []
        assert services.bus.pull("inspect", max_messages=10, timeout=0) == []  # not even announced again
        assert successes(pipeline)["player_game_summary"] == before


# --- 6/7 are in tests/runtime; 8. failures are visible ------------------------------------------
def test_a_completion_for_an_unknown_processor_is_dead_lettered(tmp_path):
    from shared.contracts import encode
    with open_pipeline(tmp_path) as pipeline:
        message = AnalyticsCompleted(processor_name="made_up_processor", analysis_date=DAY, success=True)
        encoded = encode(message, run_id="r", correlation_id="c")
        with pipeline.delivering():
            pipeline.services.bus.publish("phase3-analytics-complete", encoded.data, encoded.attributes)
        [letter] = list_dead_letters(pipeline.services.documents)
        assert letter["error_kind"] == "permanent_error" and "made_up_processor" in letter["reason"]
        assert FanInLedger(pipeline.services.documents).parts(DAY) == {}


def test_run_exits_non_zero_naming_what_is_missing(tmp_path):
    from typer.testing import CliRunner

    from shared.cli.app import app
    crash_points.install(FireAt(crash_points.PROCESSOR_LOADED, for_processor("ml_feature_store_v2"), times=99))
    try:
        result = CliRunner().invoke(app, ["--home", str(tmp_path), "run", "--date", DAY.isoformat()])
    finally:
        crash_points.install(None)
    assert result.exit_code == 1
    assert "did not finish" in result.output and "ml_feature_store_v2" in result.output


def decoded(messages):
    return [decode(m.data).message for m in messages]


# --- skip-if-done still announces ----------------------------------------------------------------
def test_a_crash_after_recording_is_announced_by_the_redelivery(tmp_path, clean):
    """Recorded, then killed before publishing the completion: the redelivery finds the success,
    skips the work and announces it, so the fan-in still completes."""
    with healed_after(tmp_path, clean, FireAt(crash_points.PROCESSOR_RECORDED,
                                               for_processor("team_offense_game_summary"))):
        pass


def test_half_a_load_is_redone(tmp_path, clean):
    """Killed between the review table and the box scores of one load: the run is redone."""
    with healed_after(tmp_path, clean, FireAt(crash_points.PROCESSOR_HALF_LOADED,
                                               for_processor("raw_player_boxscores"))):
        pass


def test_every_message_carries_its_ids_as_attributes(tmp_path):
    """Subscriptions filter on them, dead letters keep them, `status` and the quiescence check
    match redelivered and dead-lettered copies by them."""
    with open_pipeline(tmp_path) as pipeline:
        services = pipeline.services
        services.bus.create_subscription(SubscriptionSpec(name="inspect", topic="phase4-trigger",
                                                          dead_letter_topic=None))
        fctx = context(services, "m1", "phase3_to_phase4_orchestrator")
        trigger = __import__("shared.contracts", fromlist=["PrecomputeTrigger"]).PrecomputeTrigger(
            analysis_date=DAY, processor_names=("player_daily_cache",), triggered_by="t", claim_id="c")
        fctx.publish("phase4-trigger", trigger)
        [received] = services.bus.pull("inspect", timeout=0)
        envelope = decode(received.data).envelope
        assert {k: received.attributes.get(k) for k in ("message_id", "run_id", "correlation_id",
                                                          "message_type")} == {
            "message_id": envelope.message_id, "run_id": fctx.run_id, "correlation_id": envelope.correlation_id,
            "message_type": "PrecomputeTrigger"}
