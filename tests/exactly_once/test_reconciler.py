"""The reconciler repairs, each within one pass and with nothing doubled: a killed publisher,
a killed processor, a dead-lettered trigger, a claim never published; it holds dates of the
backfill switch and names the command that releases them."""
from __future__ import annotations

import pytest

from shared.orchestration.fan_in import FanInLedger
from shared.runtime import crash_points
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


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    with open_pipeline(tmp_path_factory.mktemp("clean")) as pipeline:
        report = pipeline.run_date(DAY)
        return checksums(report), successes(pipeline)


def broken_then_reconciled(tmp_path, injector):
    """Run DAY with `injector` firing on every delivery (so Pub/Sub gives up and dead-letters
    the message), then one reconciler pass once the cause has gone."""
    pipeline = open_pipeline(tmp_path).__enter__()
    broken = run_with(pipeline, injector)
    assert injector.fired >= 1 and not broken.finished
    pipeline.services.bus.clock.advance(600)  # let every lease the crashes left run out
    report = pipeline.reconcile([DAY])
    return pipeline, report


def assert_repaired_like_clean(pipeline, clean):
    tables, runs = clean
    report = pipeline.run_date(DAY)  # reads the state; the scrape payloads are unchanged: a no-op
    assert report.finished, report.missing
    assert checksums(report) == tables
    assert successes(pipeline) == runs, "the repair doubled (or lost) a processor run"
    claims = FanInLedger(pipeline.services.documents).claims(DAY)
    assert all(c["published"] and c["publish_count"] == 1 for c in claims), claims
    assert pipeline.reconcile([DAY]).repairs == []  # a second pass finds nothing


def test_a_killed_publisher(tmp_path, clean):
    injector = FireAt(crash_points.FANIN_CLAIMED, for_target("phase4"), times=99)
    pipeline, report = broken_then_reconciled(tmp_path, injector)
    try:
        assert {r.kind for r in report.repairs} >= {"unpublished_claim"}
        assert_repaired_like_clean(pipeline, clean)
    finally:
        pipeline.__exit__(None, None, None)


def test_a_killed_processor(tmp_path, clean):
    injector = FireAt(crash_points.PROCESSOR_LOADED, for_processor("player_composite_factors"), times=99)
    pipeline, report = broken_then_reconciled(tmp_path, injector)
    try:
        assert "expired_run_lease" in {r.kind for r in report.repairs}
        assert_repaired_like_clean(pipeline, clean)
    finally:
        pipeline.__exit__(None, None, None)


def test_a_dead_lettered_trigger(tmp_path, clean, monkeypatch):
    """A processor failing transiently on every attempt: Pub/Sub dead-letters its trigger; once
    the cause is gone, the reconciler publishes it again (and re-drives the failed run)."""
    from shared.pipeline.phase4 import PROCESSORS
    processor = PROCESSORS["team_defense_zone_analysis"]
    real_extract = type(processor).extract

    def unavailable(self, ctx):
        raise ConnectionError("warehouse unavailable")

    monkeypatch.setattr(type(processor), "extract", unavailable)
    with open_pipeline(tmp_path) as pipeline:
        broken = pipeline.run_date(DAY)
        assert not broken.finished and broken.dead_letters
        monkeypatch.setattr(type(processor), "extract", real_extract)  # the cause has gone
        report = pipeline.reconcile([DAY])
        kinds = {r.kind for r in report.repairs}
        assert "dead_lettered_trigger" in kinds and "failed_run" in kinds
        assert_repaired_like_clean(pipeline, clean)


def test_a_claim_never_published(tmp_path, clean):
    """Every publish of the final trigger fails (the lease is released each time) until its
    message is dead-lettered: the claim stays unpublished with no lease."""
    def fail(point, context):
        raise ConnectionError("Pub/Sub unavailable")
    injector = FireAt(crash_points.FANIN_CLAIMED, for_target("phase5"), times=99, action=fail)
    pipeline, report = broken_then_reconciled(tmp_path, injector)
    try:
        assert "unpublished_claim" in {r.kind for r in report.repairs}
        assert_repaired_like_clean(pipeline, clean)
    finally:
        pipeline.__exit__(None, None, None)


def test_a_ready_fan_in_without_a_claim_is_fired(tmp_path, clean):
    """Every Phase 3 part recorded, but the completion that should have claimed Phase 4 was lost
    before claiming (here: its claim is removed after the fact)."""
    with open_pipeline(tmp_path) as pipeline:
        pipeline.run_date(DAY)
        documents = pipeline.services.documents
        [phase4] = [c for c in FanInLedger(documents).claims(DAY) if c["target"] == "phase4"]
        documents.delete(f"fanin/{DAY.isoformat()}/claims/phase4__{phase4['inputs']}")
        repaired = pipeline.reconcile([DAY])
        assert [(r.kind, r.target) for r in repaired.repairs] == [("ready_fan_in_unclaimed", "phase4")]
        assert_repaired_like_clean(pipeline, clean)


def test_held_dates_are_held_not_lost(tmp_path):
    from typer.testing import CliRunner

    from shared.cli.app import app
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    assert runner.invoke(app, [*home, "backfill", "--start", DAY.isoformat(), "--end", DAY.isoformat(),
                               "--raw-only"]).exit_code == 0
    reconciled = runner.invoke(app, [*home, "reconcile", "--date", DAY.isoformat(), "--json"])
    import json
    report = json.loads(reconciled.stdout)
    assert report["held"] == {DAY.isoformat(): f"sportsflow release --date {DAY.isoformat()}"}
    assert report["repairs"] == []
    status = runner.invoke(app, [*home, "status", "--date", DAY.isoformat()])
    assert "held by the backfill switch" in status.output and "sportsflow release" in status.output
    released = runner.invoke(app, [*home, "release", "--date", DAY.isoformat()])
    assert released.exit_code == 0 and "finished: yes" in released.output


def test_nothing_automatic_starts_phase3_for_a_held_date(tmp_path):
    """A raw-only load killed half-way: the reconciler (run with the switch on) completes the raw
    tables but keeps the date held; `backfill --stale` does not start Phase 3 either."""
    from shared.orchestration.fan_in import FanInLedger
    with open_pipeline(tmp_path, phase3_trigger_enabled=False) as pipeline:
        run_with(pipeline, FireAt(crash_points.PROCESSOR_RECORDED, for_processor("raw_schedule")))
    with open_pipeline(tmp_path) as pipeline:  # the switch is on in this process
        report = pipeline.reconcile([DAY])
        assert report.held == {DAY.isoformat(): f"sportsflow release --date {DAY.isoformat()}"}
        pipeline.recompute(DAY)
        assert FanInLedger(pipeline.services.documents).claims(DAY) == []
        assert set(successes(pipeline)) == {"raw_schedule", "raw_team_boxscores", "raw_player_registry",
                                            "raw_player_boxscores", "raw_prop_lines", "raw_injury_report"}
        assert pipeline.run_date(DAY).finished  # a run with the switch on is the user releasing it


def test_a_consumed_trigger_is_never_redelivered_again_and_again(tmp_path):
    """A published, consumed claim whose run document is gone (tampering, or a consumer that
    failed before recording) is not re-driven on every pass."""
    from shared.pipeline.run_history import run_path
    with open_pipeline(tmp_path) as pipeline:
        pipeline.run_date(DAY)
        pipeline.services.documents.delete(run_path("player_game_summary", DAY))
        for _ in range(2):
            assert [r for r in pipeline.reconcile([DAY]).repairs if r.kind == "lost_trigger"] == []
