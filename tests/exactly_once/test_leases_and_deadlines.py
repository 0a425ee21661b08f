"""The heartbeat keeps a working run's lease; the reconciler flags a late date in the alert line
the monitoring counts; `backfill --redo` really recomputes."""
from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from shared.adapters.local.documents import SqliteDocumentStore
from shared.cli.app import app
from shared.pipeline import run_history
from shared.pipeline.run_history import Heartbeat, LeasePolicy, RunInProgressElsewhere
from tests.exactly_once.harness import DAY, open_pipeline, successes


def test_the_heartbeat_keeps_a_long_run_s_lease(tmp_path):
    documents = SqliteDocumentStore(tmp_path / "d.sqlite")
    policy = LeasePolicy(ttl=timedelta(seconds=0.6))
    lease = run_history.acquire(documents, "p", DAY, "k", "worker", message_id="m", provenance={}, policy=policy)
    with Heartbeat(documents, lease, policy) as heartbeat:
        time.sleep(1.5)  # two and a half ttls of work
        with pytest.raises(RunInProgressElsewhere):  # still held: the redelivery must wait
            run_history.acquire(documents, "p", DAY, "k", "redelivery", message_id="m", provenance={},
                                policy=policy)
        heartbeat.check()
    time.sleep(0.8)  # the heartbeat stopped: the lease runs out, a redelivery takes over
    taken = run_history.acquire(documents, "p", DAY, "k", "redelivery", message_id="m", provenance={}, policy=policy)
    assert taken.fence == lease.fence + 1


def test_a_late_date_is_an_alert_line(tmp_path, caplog):
    with open_pipeline(tmp_path) as pipeline:
        pipeline.crashes = None
        from shared.orchestration.fan_in import FanInLedger, PartOutcome
        FanInLedger(pipeline.services.documents).record_part(
            DAY, "raw_schedule", PartOutcome(succeeded=True, fence=1), message_id="m",
            orchestrator="phase2_to_phase3_orchestrator")
        pipeline.services.bus.clock.advance(7 * 3600)  # seven hours later, Phase 4 has not finished
        with caplog.at_level(logging.ERROR, logger="sportsflow.reconciler"):
            report = pipeline.reconcile([DAY])
    assert report.late == [DAY.isoformat()]
    assert any(r.getMessage() == "pipeline date not finished by deadline" for r in caplog.records)


def test_redo_recomputes_every_processor_once_more(tmp_path):
    runner = CliRunner()
    home = ["--home", str(tmp_path)]
    days = ["--start", DAY.isoformat(), "--end", DAY.isoformat()]
    assert runner.invoke(app, [*home, "backfill", *days]).exit_code == 0
    assert "0 dates run" in runner.invoke(app, [*home, "backfill", *days]).output  # finished: skipped
    assert runner.invoke(app, [*home, "backfill", *days, "--redo"]).exit_code == 0
    with open_pipeline(tmp_path) as pipeline:
        assert set(successes(pipeline).values()) == {2}  # every processor ran exactly once more
        assert pipeline.is_finished(DAY)
