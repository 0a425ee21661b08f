"""Settlement as a command: 202 + execution id, the worker runs it under the execution record,
admin-only and audited, duplicates report the original, failures are recorded and dead-lettered."""
from __future__ import annotations

import json
import re

import pytest

from shared.adapters.local.bus import LocalBus
from shared.adapters.local.documents import SqliteDocumentStore
from shared.bootstrap import Services
from shared.config import Settings
from shared.executions.admin import HEALTH_PATH
from shared.executions.audit import audit_entries
from shared.executions.state import ExecutionStore
from shared.runtime.dead_letters import list_dead_letters
from shared.runtime.embedded import EmbeddedDeployment
from shared.topology import TOPOLOGY
from shared.tournaments.leaderboard import Board, Leaderboards
from shared.tournaments.season import SeasonPlan, end_match, load_season, recompute_leaderboard
from tests.conftest import REPO_ROOT

PLAN = SeasonPlan(tournament_id="t1", matches=2, members=30, matches_per_round=1, leagues=1, seed=3)
ADMIN, INVOKER = {"Authorization": "Bearer admin-token"}, {"Authorization": "Bearer good-token"}


@pytest.fixture
def services(tmp_path):
    services = Services.with_adapters(Settings(home=tmp_path), bus=LocalBus(),
                                      documents=SqliteDocumentStore(tmp_path / "docs.sqlite"))
    EmbeddedDeployment(services).deploy()
    yield services
    services.close()


def _settle_body(match):
    return {"tournament_id": "t1", "match_id": match.match_id, "status_timestamp": match.status_timestamp.isoformat()}


def test_a_settlement_command_answers_202_and_the_worker_completes_it(services, call):
    store = load_season(services.documents, PLAN)
    match = end_match(store, PLAN, 0)
    status, body = call("POST", "/settlements", body=_settle_body(match))
    assert status == 202 and body["status"] == "queued" and body["status_url"].endswith(body["execution_id"])
    services.bus.drain(max_seconds=3600)
    status, shown = call("GET", f"/executions/{body['execution_id']}")
    assert status == 200 and shown["status"] == "completed" and shown["triggered_by"] == "dev-admin"
    assert [s["name"] for s in shown["steps"]] == ["created", "started", "apply"]
    page = Leaderboards(services.documents).read(Board("t1"), page_size=100)
    assert [tuple(e.__dict__.values()) for e in page.entries] == recompute_leaderboard(PLAN, range(1))
    assert not page.degraded
    (entry,) = audit_entries(services.documents)
    assert (entry["who"], entry["what"], entry["details"]["execution_id"]) == ("dev-admin", "settlement.submit",
                                                                             body["execution_id"])

    status, again = call("POST", "/settlements", body=_settle_body(match))  # the same command again
    services.bus.drain(max_seconds=3600)
    second = ExecutionStore(services.documents).get(again["execution_id"])
    assert second.status == "completed" and second.summary["decision"] == "duplicate"
    assert second.summary["original_execution_id"] == body["execution_id"]
    assert [tuple(e.__dict__.values()) for e in Leaderboards(services.documents).read(
        Board("t1"), page_size=100).entries] == recompute_leaderboard(PLAN, range(1))


def test_admin_routes_need_the_admin_role_and_nothing_runs_without_it(services, call):
    load_season(services.documents, PLAN)
    assert call("POST", "/settlements", headers=INVOKER, body={"tournament_id": "t1"})[0] == 403
    assert call("GET", "/executions", headers=INVOKER)[0] == 403
    assert call("POST", "/settlements", headers={}, body={})[0] == 401
    assert ExecutionStore(services.documents).list() == [] and audit_entries(services.documents) == []


def test_the_health_route_the_topology_names_exists_and_there_is_no_debug_route(call):
    assert call("GET", "/health", headers=INVOKER) == (200, {"status": "ok"})
    # decided: /health is authenticated like every route (any invoker, no admin role needed). The
    # function is private (IAM run.invoker, internal ingress): an unauthenticated probe could not
    # reach it anyway, so a check sends an ID token, and an anonymous caller learns nothing
    assert call("GET", "/health", headers={})[0] == 401
    assert call("GET", "/health", headers={"Authorization": "Bearer wrong"})[0] == 403
    assert call("GET", "/debug/env")[0] == 404
    served = {p for f in TOPOLOGY.functions for p in f.http_paths if "health" in p}
    assert HEALTH_PATH in served  # (the console serves /health and /health.json too)
    named = {}
    for path in [REPO_ROOT / "README.md", REPO_ROOT / "infra" / "README.md", *(REPO_ROOT / "infra").glob("*.tf*")]:
        for found in re.findall(r"(/[\w/]*health\w*)", path.read_text()):
            if not found.startswith("/_dev/"):  # `sportsflow dev`'s own process probe, not a deployed route
                named.setdefault(found, []).append(path.name)
    assert named, "the docs and Terraform name no health route"
    assert set(named) <= served, f"health routes named but not served: {named}"


def test_a_match_that_has_not_ended_fails_the_execution_and_is_dead_lettered(services, call):
    load_season(services.documents, PLAN)
    status, body = call("POST", "/settlements", body={"tournament_id": "t1", "match_id": "x0001",
                                                      "status_timestamp": "2025-01-01T00:00:00+00:00"})
    assert status == 202
    services.bus.drain(max_seconds=3600)
    failed = ExecutionStore(services.documents).get(body["execution_id"])
    assert failed.status == "failed" and "not ended" in failed.error
    (letter,) = list_dead_letters(services.documents, "settlement-jobs")
    assert "not ended" in json.dumps(letter, default=str)


def test_a_bad_command_is_a_400_and_lists_what_is_missing(call):
    status, body = call("POST", "/settlements", body={"tournament_id": "t1"})
    assert status == 400 and "match_id" in body["error"]


def test_cancel_a_queued_execution_and_the_worker_skips_it_a_finished_one_refuses(services, call):
    store = load_season(services.documents, PLAN)
    match = end_match(store, PLAN, 0)
    status, body = call("POST", "/settlements", body=_settle_body(match))
    status, cancelled = call("POST", f"/executions/{body['execution_id']}/cancel")
    assert status == 200 and cancelled["status"] == "cancelled"
    services.bus.drain(max_seconds=3600)
    assert ExecutionStore(services.documents).get(body["execution_id"]).status == "cancelled"
    assert Leaderboards(services.documents).read(Board("t1")).entries[0].points == 0  # nothing was settled
    assert call("POST", f"/executions/{body['execution_id']}/cancel")[0] == 409
    assert call("GET", "/executions/nope")[0] == 404
    assert [e["what"] for e in audit_entries(services.documents)] == ["execution.cancel", "execution.cancel",
                                                                     "settlement.submit"]
