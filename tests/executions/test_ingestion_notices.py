"""Each ingestion outcome is announced through the configured notifier (here the webhook, on a
real HTTP server on 127.0.0.1); a notifier that fails does not fail the ingestion."""
from __future__ import annotations

import pytest

from shared.adapters.notifiers import WebhookNotifier
from shared.executions.state import ExecutionStore
from shared.ingestion.report import reports_of
from tests.adapters.test_notifiers import Receiver


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.stop()


def test_the_webhook_hears_each_outcome_success_and_failure(services, ingest, provider, receiver):
    services.__dict__["notifier"] = WebhookNotifier(receiver.url)
    done = ingest("fixtures")
    provider.faults.start_outage()
    failed = ingest("results")
    bodies = [body for _, body in receiver.received]
    assert [(b["execution_id"], b["outcome"]) for b in bodies] == [(done["execution_id"], "completed"),
                                                                  (failed["execution_id"], "failed")]
    assert bodies[1]["details"]["error"].startswith("the fixtures provider failed")
    assert bodies[0]["report_key"] == reports_of(services.evidence, "t1", done["execution_id"])[0].key


def test_a_notifier_that_fails_is_logged_and_the_ingestion_still_completes(services, ingest, receiver, caplog):
    receiver.status = 503
    services.__dict__["notifier"] = WebhookNotifier(receiver.url)
    body = ingest("fixtures")
    assert ExecutionStore(services.documents).get(body["execution_id"]).status == "completed"
    assert len(receiver.received) == 1
    assert any(r.getMessage() == "ingestion notification failed" for r in caplog.records)
