"""Bad rows of a replayed snapshot are rejected with their reasons, never a crash; the good rows
are ingested; a payload that cannot be ingested at all fails the execution with a report; an
unexpected error is retried, and on the last delivery fails the execution rather than leaving it."""
from __future__ import annotations

import json

import pytest

from shared.executions.state import ExecutionStore
from shared.ingestion.report import reports_of
from shared.providers.fixtures import ReplayFixturesSource
from shared.runtime.dead_letters import list_dead_letters
from shared.tournaments.store import TournamentStore
from tests.executions.conftest import Provider

KICKOFF = "2025-08-16T14:00:00+00:00"
SEASONS = {"tournaments": [
    {"tournament": {"tournament_id": "t9", "name": "Replayed cup"},
     "rounds": [{"round_id": "r1", "number": 1}, {"round_id": "r2", "number": -1}, {"round_id": "r1", "number": 9}],
     "matches": [
         {"match_id": "m1", "round_id": "r1", "home": "A", "away": "B", "kickoff": KICKOFF, "status": "ended"},
         {"match_id": "m2", "round_id": "r1", "home": "C", "away": "D", "kickoff": "2025-08-16T14:00:00",
          "status": "scheduled"},
         {"match_id": "m3", "round_id": "r7", "home": "E", "away": "F", "kickoff": KICKOFF, "status": "open"},
         {"match_id": "m4", "round_id": "r1", "home": "G", "away": "G", "kickoff": KICKOFF},
         {"match_id": "m1", "round_id": "r1", "home": "H", "away": "I", "kickoff": KICKOFF},
         "not a row",
         {"match_id": "m6", "round_id": "r1", "home": "J", "away": "K", "kickoff": KICKOFF, "status": "ended",
          "home_goals": 2, "away_goals": -1, "status_timestamp": KICKOFF},
     ]},
    {"tournament": {"tournament_id": "t8"}, "rounds": [], "matches": []},
]}


@pytest.fixture
def provider(tmp_path):
    path = tmp_path / "seasons.json"
    path.write_text(json.dumps(SEASONS))
    provider = Provider(ReplayFixturesSource(path))
    yield provider
    provider.server.stop()


def _report(services, body, tournament="t9"):
    (report,) = reports_of(services.evidence, tournament, body["execution_id"])
    return report


def test_bad_fixture_rows_are_rejected_with_reasons_and_the_good_ones_ingested(services, ingest):
    body = ingest("fixtures", tournament="t9")
    assert ExecutionStore(services.documents).get(body["execution_id"]).status == "completed"
    report = _report(services, body)
    reasons = {(r["kind"], r["id"]): r["reason"] for r in report.rejected}
    assert "number: Input should be greater than or equal to 0" in reasons[("round", "r2")]
    assert "appears twice" in reasons[("round", "r1")] and "appears twice" in reasons[("match", "m1")]
    assert "kickoff: Input should have timezone info" in reasons[("match", "m2")]
    assert reasons[("match", "m3")] == "round 'r7' is not in this snapshot nor in the tournament"
    assert "same team (G)" in reasons[("match", "m4")]
    assert ("match", "?") in reasons and "valid dictionary" in reasons[("match", "?")]
    assert report.counts.rejected == len(report.rejected) == 7
    assert report.counts.inserted == 1 + 1 + 2  # t9, r1, m1 and m6 (a fixture carries no result)
    store = TournamentStore(services.documents)
    assert store.match("t9", "m1").home == "A" and store.match("t9", "m6").status == "scheduled"


def test_bad_result_rows_are_rejected_with_reasons(services, ingest):
    ingest("fixtures", tournament="t9")
    report = _report(services, ingest("results", tournament="t9"))
    reasons: dict[str, list[str]] = {}
    for rejected in report.rejected:
        reasons.setdefault(rejected["id"], []).append(rejected["reason"])
    assert "an ended match needs home_goals, away_goals and status_timestamp" in reasons["m1"][0]
    assert reasons["m1"][1] == "status: Field required"  # the second m1 row has no status
    assert "away_goals: Input should be greater than or equal to 0" in reasons["m6"][0]
    assert reasons["m2"] == reasons["m3"] == ["no such match in the tournament: ingest its fixtures first"]
    assert report.outcome == "completed" and report.settlements_enqueued == []


def test_a_payload_that_cannot_be_ingested_fails_with_its_report(services, ingest):
    body = ingest("fixtures", tournament="t8")
    failed = ExecutionStore(services.documents).get(body["execution_id"])
    assert failed.status == "failed" and "tournament row is invalid" in failed.error and "name" in failed.error
    assert _report(services, body, "t8").error == failed.error
    missing = ingest("fixtures", tournament="nope")  # the provider answers 404: rejected, not retried
    report = _report(services, missing, "nope")
    assert report.outcome == "failed" and "404" in report.error
    assert len(list_dead_letters(services.documents, "ingestion-jobs")) == 2


class FlakyStore:
    """The store's transaction fails the first `failures` times the upsert runs (a transient error)."""

    def __init__(self, documents, failures):
        self._documents, self.failures = documents, failures

    def __getattr__(self, name):
        return getattr(self._documents, name)

    def run_transaction(self, work):
        if getattr(work, "__qualname__", "").startswith("_apply_chunk") and self.failures:
            self.failures -= 1
            raise ConnectionError("store unavailable")
        return self._documents.run_transaction(work)


@pytest.mark.parametrize("failures, final", [(1, "completed"), (99, "failed")])
def test_an_unexpected_error_is_retried_and_on_the_last_delivery_fails_the_execution(services, ingest,
                                                                                     failures, final):
    services.__dict__["documents"] = FlakyStore(services.documents, failures)
    body = ingest("fixtures", tournament="t9")
    execution = ExecutionStore(services.documents).get(body["execution_id"])
    assert execution.status == final
    reports = reports_of(services.evidence, "t9", body["execution_id"])
    assert "ConnectionError: store unavailable (delivery will be retried)" == reports[0].error
    assert reports[-1].outcome == final
    if final == "failed":
        assert len(reports) == 5 and "the last delivery" in execution.error  # the subscription's 5 attempts
        assert len(list_dead_letters(services.documents, "ingestion-jobs")) == 1
