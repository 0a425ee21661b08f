"""Ingestion as a command against the Firestore emulator: the worker's chunked upserts (one
transaction with get_all each), the ledger, the report, and the settlements a result enqueues —
exactly once, with a replayed snapshot and a replayed job."""
from __future__ import annotations

import pytest

from shared.adapters.gcp.firestore import FirestoreDocumentStore
from shared.adapters.local.bus import LocalBus
from shared.adapters.local.evidence import FileEvidenceStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.executions.state import ExecutionStore
from shared.ingestion.report import reports_of
from shared.ingestion.worker import ingestion_handler
from shared.runtime.embedded import EmbeddedDeployment
from shared.tournaments.store import TournamentStore
from tests.executions.conftest import RecordingNotifier
from tests.executions.test_ingestion import AFTER_ROUND_1, MATCHES, ROUNDS, _exact_guesses_on_round_1, _settled_points

pytestmark = pytest.mark.emulator


@pytest.fixture
def services(tmp_path, provider, emulators, unique_name):
    documents = FirestoreDocumentStore(emulators["GOOGLE_CLOUD_PROJECT"], namespace=unique_name)
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(), documents=documents,
                                      evidence=FileEvidenceStore(tmp_path / "evidence"), notifier=RecordingNotifier())
    EmbeddedDeployment(services, handlers={"ingestion_worker": ingestion_handler(provider.client)}).deploy()
    yield services
    services.close()


def test_fixtures_then_results_ingest_and_settle_exactly_once_on_firestore(services, ingest):
    fixtures = ingest("fixtures")
    assert ExecutionStore(services.documents).get(fixtures["execution_id"]).status == "completed"
    (report,) = reports_of(services.evidence, "t1", fixtures["execution_id"])
    assert report.counts.inserted == 1 + ROUNDS + MATCHES
    assert services.documents.count("tournaments/t1/matches") == MATCHES

    again = ingest("fixtures")  # the same snapshot: a no-op reporting the original outcome
    assert ExecutionStore(services.documents).get(again["execution_id"]).summary["decision"] == "duplicate"

    _exact_guesses_on_round_1(services)
    results = ingest("results", as_of=AFTER_ROUND_1.isoformat())
    (report,) = reports_of(services.evidence, "t1", results["execution_id"])
    assert report.counts.updated == 3 and report.settlements_enqueued == ["r01m01", "r01m02", "r01m03"]
    settlements = ExecutionStore(services.documents).list(job_type="settlement", limit=100)
    assert len(settlements) == 3 and {s.status for s in settlements} == {"completed"}
    assert TournamentStore(services.documents).match("t1", "r01m01").status == "ended"
    assert _settled_points(services) == (15, 3)

    ingest("results", as_of=AFTER_ROUND_1.isoformat())  # replayed: no second settlement, no points
    assert len(ExecutionStore(services.documents).list(job_type="settlement", limit=100)) == 3
    assert _settled_points(services) == (15, 3)
    assert [n.outcome for n in services.notifier.notices] == ["completed"] * 4
