"""Ingestion as a command: 202 + execution id; the worker fetches from the fixtures provider,
upserts exactly once under the execution record, stores its report on success and on failure,
announces it, and enqueues the settlement of each match a result ends."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from shared.executions.audit import audit_entries
from shared.executions.ledger import IdempotencyLedger, settlement_key
from shared.executions.state import ExecutionStore
from shared.ingestion.report import reports_of
from shared.runtime import crash_points
from shared.runtime.dead_letters import list_dead_letters
from shared.tournaments.model import Guess, GuessRevision
from shared.tournaments.store import TournamentStore
from tests.executions.conftest import INVOKER, SOURCE

ROUNDS, MATCHES = SOURCE.rounds, SOURCE.rounds * SOURCE.matches_per_round
AFTER_ROUND_1 = SOURCE.start + timedelta(days=1)
AFTER_ROUND_2 = SOURCE.start + timedelta(days=8)


def _tournament_documents(documents):
    head = documents.get("tournaments/t1")
    rows = {"tournaments/t1": head.data if head else None}
    for collection in ("rounds", "matches"):
        rows.update({d.path: d.data for d in documents.query(f"tournaments/t1/{collection}")})
    return rows


def _executions(services, job_type):
    return ExecutionStore(services.documents).list(job_type=job_type, limit=1000)


def test_an_ingestion_answers_202_and_its_worker_upserts_and_stores_a_report(services, call, provider):
    status, body = call("POST", "/ingestions", body={"operation": "fixtures", "entity_id": "t1"})
    assert status == 202 and body["status"] == "queued" and body["status_url"] == f"/executions/{body['execution_id']}"
    assert ExecutionStore(services.documents).get(body["execution_id"]).status == "queued"
    services.bus.drain(max_seconds=3600)

    status, shown = call("GET", f"/executions/{body['execution_id']}")
    assert status == 200 and shown["status"] == "completed" and shown["job_type"] == "ingestion"
    assert [s["name"] for s in shown["steps"]] == ["created", "started", "fetched", "validated", "applied",
                                                   "reported", "apply"]
    store = TournamentStore(services.documents)
    assert store.tournament("t1").name == "Synthetic league t1"
    assert store.round("t1", "r04").bonus and not store.round("t1", "r01").bonus
    assert store.match("t1", "r01m01").status == "scheduled"
    assert services.documents.count("tournaments/t1/matches") == MATCHES

    (report,) = reports_of(services.evidence, "t1", body["execution_id"])
    assert (report.outcome, report.decision, report.error) == ("completed", "apply", None)
    assert report.counts.model_dump() == {"inserted": 1 + ROUNDS + MATCHES, "updated": 0, "unchanged": 0,
                                          "rejected": 0}
    assert report.snapshot_version.startswith("sha256-") and report.idempotency_key == \
        f"ingestion:fixtures:t1:{report.snapshot_version}"
    assert {"fetch", "validate", "apply", "total"} <= set(report.timings_ms)
    assert shown["summary"]["report_key"] == report.key
    assert services.evidence.head(report.key).retain_until > datetime.now(timezone.utc) + timedelta(days=365)
    (notice,) = services.notifier.notices
    assert (notice.outcome, notice.execution_id, notice.report_key) == ("completed", body["execution_id"], report.key)
    (entry,) = audit_entries(services.documents)
    assert (entry["who"], entry["what"], entry["details"]["execution_id"]) == ("dev-admin", "ingestion.submit",
                                                                             body["execution_id"])
    (key,) = [k for k in provider.server.idempotency_keys if k]
    assert key == f"{body['execution_id']}:fixtures:t1"


def test_the_same_snapshot_again_is_a_no_op_reporting_the_original_outcome(services, ingest):
    first = ingest("fixtures")
    before = _tournament_documents(services.documents)
    again = ingest("fixtures")
    second = ExecutionStore(services.documents).get(again["execution_id"])
    assert second.status == "completed" and second.summary["decision"] == "duplicate"
    assert second.summary["original_execution_id"] == first["execution_id"]
    (report,) = reports_of(services.evidence, "t1", again["execution_id"])
    assert report.decision == "duplicate" and report.original_execution_id == first["execution_id"]
    assert report.counts.inserted == 1 + ROUNDS + MATCHES  # the original outcome, not "0 changed"
    assert _tournament_documents(services.documents) == before


def test_a_provider_outage_fails_the_execution_and_its_report_says_so(services, ingest, provider):
    provider.faults.start_outage(503)
    body = ingest("fixtures")
    failed = ExecutionStore(services.documents).get(body["execution_id"])
    assert failed.status == "failed" and "provider" in failed.error and "submit the ingestion again" in failed.error
    (report,) = reports_of(services.evidence, "t1", body["execution_id"])
    assert report.outcome == "failed" and report.error == failed.error and "503" in report.error
    assert report.counts.model_dump() == {"inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
    assert failed.summary["report_key"] == report.key
    assert services.documents.get("tournaments/t1") is None
    (letter,) = list_dead_letters(services.documents, "ingestion-jobs")
    assert "provider" in json.dumps(letter, default=str)
    assert [n.outcome for n in services.notifier.notices] == ["failed"]
    # the client retried (3 attempts), every attempt with the same idempotency key
    assert provider.server.request_counts["/fixtures"] == 3
    assert dict(provider.server.idempotency_keys) == {f"{body['execution_id']}:fixtures:t1": 3}

    provider.faults.end_outage()  # the provider is back: submitting again ingests
    retried = ingest("fixtures")
    assert ExecutionStore(services.documents).get(retried["execution_id"]).status == "completed"


def test_callers_without_the_admin_role_are_refused_and_nothing_is_enqueued(services, call, provider):
    body = {"operation": "fixtures", "entity_id": "t1"}
    assert call("POST", "/ingestions", headers=INVOKER, body=body)[0] == 403
    assert call("POST", "/ingestions", headers={}, body=body)[0] == 401
    assert call("POST", "/ingestions", headers={"Authorization": "Bearer wrong"}, body=body)[0] in (401, 403)
    assert services.bus.drain(max_seconds=3600).delivered == 0
    assert ExecutionStore(services.documents).list() == [] and audit_entries(services.documents) == []
    assert provider.server.request_counts == {}


@pytest.mark.parametrize("body, problem", [
    ({"entity_id": "t1"}, "operation"),
    ({"operation": "standings", "entity_id": "t1"}, "operation"),
    ({"operation": "fixtures", "entity_id": "bad/id"}, "entity_id"),
    ({"operation": "fixtures", "entity_id": "t1", "snapshot_version": ""}, "snapshot_version"),
    ({"operation": "results", "entity_id": "t1", "as_of": "yesterday"}, "as_of"),
])
def test_a_bad_ingestion_command_is_a_400_naming_the_field(services, call, body, problem):
    status, answer = call("POST", "/ingestions", body=body)
    assert status == 400 and problem in answer["error"]
    assert ExecutionStore(services.documents).list() == []


def _guess(match, home, away):
    return Guess(tournament_id="t1", match_id=match.match_id, member_id="m1",
                 revisions=[GuessRevision(home_goals=home, away_goals=away,
                                          submitted_at=match.kickoff - timedelta(hours=1))])


def _settled_points(services):
    (standing,) = TournamentStore(services.documents).standings("t1")
    return standing.points, standing.settled_guesses


def _exact_guesses_on_round_1(services):
    """Member m1 guesses every round-1 match exactly: 5 points each, settled once."""
    store = TournamentStore(services.documents)
    store.join("t1", ["m1"])
    season = {m["match_id"]: m for m in SOURCE.season("t1")["matches"]}
    guesses = [_guess(store.match("t1", f"r01m{n:02d}"), season[f"r01m{n:02d}"]["home_goals"],
                      season[f"r01m{n:02d}"]["away_goals"]) for n in (1, 2, 3)]
    store.write_guesses(guesses)


def test_results_that_end_matches_enqueue_their_settlements_once(services, ingest):
    ingest("fixtures")
    _exact_guesses_on_round_1(services)
    first = ingest("results", as_of=AFTER_ROUND_1.isoformat())
    (report,) = reports_of(services.evidence, "t1", first["execution_id"])
    assert report.counts.updated == 3 and report.counts.unchanged == MATCHES - 3
    assert report.settlements_enqueued == ["r01m01", "r01m02", "r01m03"]
    settlements = _executions(services, "settlement")
    assert len(settlements) == 3 and {s.status for s in settlements} == {"completed"}
    assert {s.triggered_by for s in settlements} == {f"ingestion:{first['execution_id']}"}
    assert _settled_points(services) == (15, 3)

    ingest("results", as_of=AFTER_ROUND_1.isoformat())  # the same snapshot: no new settlement
    later = ingest("results", as_of=AFTER_ROUND_2.isoformat())  # round 1 unchanged, round 2 ends
    (report,) = reports_of(services.evidence, "t1", later["execution_id"])
    assert report.settlements_enqueued == ["r02m01", "r02m02", "r02m03"]
    assert len(_executions(services, "settlement")) == 6
    assert _settled_points(services) == (15, 3)  # m1 guessed round 1 only; nothing settled twice


def test_results_of_unknown_matches_or_going_back_are_rejected_with_reasons(services, ingest):
    ingest("fixtures")
    ingest("results", as_of=AFTER_ROUND_1.isoformat())
    body = ingest("results", as_of=SOURCE.start.isoformat())  # round 1 "open" again at its kickoff: stale
    (report,) = reports_of(services.evidence, "t1", body["execution_id"])
    assert report.outcome == "completed" and report.counts.rejected == 3 and report.counts.unchanged == MATCHES - 3
    first, *others = report.rejected
    assert first["id"] == "r01m01" and first["reason"] == "stale: the match is ended, the row says open " \
                                                          "(a status never goes back)"
    assert [r["id"] for r in others] == ["r01m02", "r01m03"] and all("says scheduled" in r["reason"] for r in others)
    assert TournamentStore(services.documents).match("t1", "r01m01").status == "ended"

    unknown = ingest("results", tournament="t2")
    failed_or_rejected = reports_of(services.evidence, "t2", unknown["execution_id"])[0]
    assert failed_or_rejected.counts.rejected == MATCHES
    assert {r["reason"] for r in failed_or_rejected.rejected} == {"no such match in the tournament: ingest its "
                                                                  "fixtures first"}


@pytest.mark.parametrize("point", crash_points.INGESTION_POINTS)
def test_a_crash_between_the_upsert_and_the_completion_recovers_on_redelivery(services, ingest, point):
    ingest("fixtures")
    _exact_guesses_on_round_1(services)
    crash = crash_points.CrashOnce(point)
    crash_points.install(crash)
    try:
        body = ingest("results", as_of=AFTER_ROUND_1.isoformat())  # the bus redelivers after the crash
    finally:
        crash_points.install(None)
    assert crash.fired
    execution = ExecutionStore(services.documents).get(body["execution_id"])
    assert execution.status == "completed" and execution.attempt == 2
    reports = reports_of(services.evidence, "t1", body["execution_id"])
    final = reports[-1]
    assert final.attempt == 2 and final.outcome == "completed"
    # the resumed attempt reports what the interrupted one changed, not "all unchanged"
    assert final.counts.updated == 3 and final.settlements_enqueued == ["r01m01", "r01m02", "r01m03"]
    assert len(reports) == (2 if point == crash_points.INGESTION_REPORTED else 1)
    assert len(_executions(services, "settlement")) == 3
    assert _settled_points(services) == (15, 3)
    for n in (1, 2, 3):
        match = TournamentStore(services.documents).match("t1", f"r01m{n:02d}")
        assert IdempotencyLedger(services.documents).get(settlement_key(match.match_id,
                                                                        match.status_timestamp)).status == "applied"


@pytest.mark.parametrize("nth", [1, 2])
def test_a_publish_of_a_settlement_that_timed_out_after_delivery_does_not_settle_twice(services, ingest, nth):
    """The nth settlement publish times out after Pub/Sub took it: the redelivered ingestion
    enqueues that one again (a duplicate settlement, a no-op) and never the ones before it."""
    ingest("fixtures")
    _exact_guesses_on_round_1(services)
    crash = TimeOutNthSettlementPublish(nth)
    crash_points.install(crash)
    try:
        body = ingest("results", as_of=AFTER_ROUND_1.isoformat())
    finally:
        crash_points.install(None)
    assert ExecutionStore(services.documents).get(body["execution_id"]).status == "completed"
    settlements = _executions(services, "settlement")
    assert len(settlements) == 4 and {s.summary["decision"] for s in settlements} == {"apply", "duplicate"}
    assert _settled_points(services) == (15, 3)


class TimeOutNthSettlementPublish:
    def __init__(self, nth):
        self.nth, self.seen = nth, 0

    def at(self, point, context):
        if point == crash_points.PUBLISH_DELIVERED and context.get("topic") == "settlement-jobs":
            self.seen += 1
            if self.seen == self.nth:
                crash_points.fire(point, context)


def test_a_reused_snapshot_version_with_other_content_is_flagged_and_not_applied(services, ingest):
    ingest("fixtures")
    ingest("results", snapshot_version="v1", as_of=AFTER_ROUND_1.isoformat())
    before = _tournament_documents(services.documents)
    body = ingest("results", snapshot_version="v1", as_of=AFTER_ROUND_2.isoformat())
    failed = ExecutionStore(services.documents).get(body["execution_id"])
    assert failed.status == "failed" and "already ingested" in failed.error and "nothing was applied" in failed.error
    (report,) = reports_of(services.evidence, "t1", body["execution_id"])
    assert report.decision == "mismatch" and report.outcome == "failed"
    assert _tournament_documents(services.documents) == before
    assert IdempotencyLedger(services.documents).get("ingestion:results:t1:v1").mismatches == 1
