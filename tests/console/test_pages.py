"""Every console page renders stored state; filters narrow; an override is audited; refusals and
errors are pages with a message, never a trace."""
from __future__ import annotations

import json
import logging

import pytest
from werkzeug.test import Client

from shared.console import views
from shared.validation import records
from tests.console.conftest import ADMIN_TOKEN, signed_in
from tests.console.seed import PIPELINE_DAY, STALE_MATCH, WRONG_GAME

PAGES = ("/", "/pipeline", f"/pipeline?date={PIPELINE_DAY}", "/coverage", f"/coverage?date={PIPELINE_DAY}",
         "/validations", "/reviews", "/live", "/executions", "/leaderboards", "/health")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders(invoker, path) -> None:
    response = invoker.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html" and "Traceback" not in response.get_data(as_text=True)


def test_the_pipeline_date_shows_what_is_missing_and_why(invoker) -> None:
    page = invoker.get(f"/pipeline?date={PIPELINE_DAY}").get_data(as_text=True)
    assert "raw_prop_lines" in page and "provider 503 after 5 attempts" in page
    assert "not finished" in page


def test_a_date_without_games_says_so(invoker, seeded) -> None:
    from datetime import date

    from shared.pipeline import no_games
    no_games.record(seeded.documents, date(2024, 12, 24), "synthetic")
    page = invoker.get("/pipeline?date=2024-12-24").get_data(as_text=True)
    assert 'id="no-games"' in page and "No scheduled games on 2024-12-24 in synthetic" in page
    assert "not finished" not in page.split('id="date-detail"')[1].split("</h2>")[0]


def test_validation_filters_narrow_the_decisions(invoker, seeded) -> None:
    every = seeded.documents.count(records.DECISIONS)
    of_game = seeded.documents.count(records.DECISIONS, [("game_id", "==", WRONG_GAME)])
    assert 0 < of_game < every
    page = invoker.get(f"/validations?game_id={WRONG_GAME}").get_data(as_text=True)
    assert f"{of_game} decision(s)" in page
    reviewed = invoker.get("/validations?outcome=review").get_data(as_text=True)
    assert WRONG_GAME in reviewed and "LAN" not in reviewed.split('id="decisions"')[1]
    none = invoker.get("/validations?team=XXX").get_data(as_text=True)
    assert "0 decision(s)" in none and "no decision matches" in none


def test_a_decision_shows_its_trail_and_its_inclusion_proof_checks(invoker, seeded) -> None:
    from shared.evidence_log.proof import check_bundle
    from shared.validation import system

    key = seeded.documents.query(records.DECISIONS, limit=1)[0].id
    page = invoker.get(f"/validations/{key}").get_data(as_text=True)
    assert "Evidence trail" in page and "Latest checkpoint" in page
    evidence_key = seeded.documents.get(f"{records.DECISIONS}/{key}").data["evidence_key"]
    proof = views.inclusion_proof(seeded.services, evidence_key)
    check_bundle(proof["bundle"], system.evidence_log(seeded.services).signer.verifier_key())
    assert invoker.get(f"/validations/{key}/proof").status_code == 200


def test_an_override_through_the_console_is_an_audited_evidence_record(admin, seeded, caplog) -> None:
    item = next(i for i in views.review_queue(seeded.services, "open"))
    key = item["decision_key"]
    with caplog.at_level(logging.INFO, logger="sportsflow.console"):
        response = admin.post(f"/reviews/{key}/decide",
                              data={"outcome": "not_met", "reason": "MLB box score confirmed"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/validations/{key}")
    override = seeded.documents.query(records.OVERRIDES, [("decision_key", "==", key)])[0].data
    assert override["actor"] == "dev-admin" and override["reason"] == "MLB box score confirmed"
    stored = json.loads(seeded.services.evidence.get(override["evidence_key"]))
    assert stored["after"] == {"outcome": "not_met"} and stored["actor"] == "dev-admin"
    assert any(r.getMessage() == "console override recorded" for r in caplog.records)
    page = admin.get(f"/validations/{key}").get_data(as_text=True)
    assert "MLB box score confirmed" in page and 'id="effective">not_met' in page


def test_an_override_needs_the_admin_role_and_a_reason(invoker, admin, seeded) -> None:
    key = seeded.documents.query(records.DECISIONS, limit=1)[0].id
    refused = invoker.post(f"/reviews/{key}/decide", data={"outcome": "met", "reason": "x"})
    assert refused.status_code == 403 and "not an admin" in refused.get_data(as_text=True)
    no_reason = admin.post(f"/reviews/{key}/decide", data={"outcome": "met", "reason": " "})
    assert no_reason.status_code == 400 and "a reason is required" in no_reason.get_data(as_text=True)
    assert not seeded.documents.query(records.OVERRIDES, [("decision_key", "==", key)])


def test_a_stale_match_shows_data_delayed(invoker) -> None:
    page = invoker.get("/live").get_data(as_text=True)
    stale_row = next(row for row in page.split("<tr>") if STALE_MATCH in row)
    fresh_row = next(row for row in page.split("<tr>") if "fresh-1" in row)
    assert "Data delayed" in stale_row and "67&#39;" in stale_row
    assert "Data delayed" not in fresh_row and "23&#39;" in fresh_row


def test_an_unauthenticated_visitor_is_refused(app) -> None:
    anonymous = Client(app)
    for path in ("/", "/validations", "/health.json"):
        response = anonymous.get(path)
        assert response.status_code == 401 and "Sign in" in response.get_data(as_text=True)
    wrong = signed_in(app, "not-a-token")
    response = wrong.get("/validations")
    assert response.status_code == 403 and "Refused" in response.get_data(as_text=True)


def test_signing_in_sets_the_cookie_that_authenticates(app) -> None:
    client = Client(app)
    response = client.post("/login", data={"token": ADMIN_TOKEN})
    assert response.status_code == 303
    assert client.get("/reviews").status_code == 200


def test_errors_render_a_message_not_a_trace(invoker, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("the document store went away")
    monkeypatch.setattr(views, "executions", broken)
    response = invoker.get("/executions")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "the document store went away" in page
    assert "Traceback" not in page and 'File "' not in page
    assert invoker.get("/pipeline?date=yesterday").status_code == 400
    assert invoker.get("/leaderboards/nope").status_code == 404


def test_health_json_is_the_deep_health(invoker) -> None:
    body = invoker.get("/health.json").get_json()
    assert body["status"] == "up" and {d["kind"] for d in body["dependencies"]} >= {"bus", "documents", "evidence"}


def test_validations_page_on_by_decision_key(invoker, seeded, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    every = sorted(d.id for d in seeded.documents.query(records.DECISIONS))
    first = views.validations(seeded.services, {}, after="")
    assert [r["decision_key"] for r in first["rows"]] == every[:3] and first["next"] == every[2]
    second = views.validations(seeded.services, {}, after=first["next"])
    assert [r["decision_key"] for r in second["rows"]] == every[3:6]
    page = invoker.get(f"/validations?after={first['next']}").get_data(as_text=True)
    assert every[3] in page and every[2] not in page.split('id="decisions"')[1]


def test_the_overview_charts_the_recorded_dead_letters(invoker, seeded) -> None:
    from shared.runtime.dead_letters import COLLECTION

    letter = {"function": "phase3_analytics", "source_topic": "phase3-trigger", "reason": "bad payload",
              "error_kind": "invalid_message", "recorded_at": seeded.documents.now()}
    seeded.documents.set(f"{COLLECTION}/console-test", letter)
    page = invoker.get("/").get_data(as_text=True)
    chart = page.split('id="dead-letters"')[1]
    assert "phase3_analytics" in chart and ">1<" in chart


def test_each_page_render_is_recorded_through_the_metrics_interface(invoker, seeded) -> None:
    from datetime import datetime, timedelta, timezone

    from shared.metrics.recorder import process_metrics

    invoker.get("/live")
    invoker.get("/validations/no-such-decision")
    store = process_metrics(seeded.services.settings)  # the process's recorder: its buffer is read too
    now = datetime.now(timezone.utc)
    latency = store.points("function_latency_ms", now - timedelta(minutes=5), now + timedelta(seconds=1))
    outcomes = store.points("function_outcome", now - timedelta(minutes=5), now + timedelta(seconds=1))
    assert {"/live", "/validations/{decision_key}"} <= {p.labels.get("page") for p in latency}
    assert {"function": "console", "outcome": "ok", "trigger": "http"} in [p.labels for p in latency]
    assert {"function": "console", "page": "/validations/{decision_key}", "status": 404} in [p.labels for p in outcomes]
    assert "median render in the last hour" in invoker.get("/health").get_data(as_text=True)


def test_the_pipeline_page_charts_the_recorded_function_latency_over_time(invoker, seeded) -> None:
    from datetime import datetime, timedelta, timezone

    from shared.console import views
    from shared.metrics.recorder import INVOCATION, process_metrics

    metrics = process_metrics(seeded.services.settings)
    now = datetime.now(timezone.utc)
    for latency in [5000.0] * 40:  # the seeded pipeline's own invocations are in the store too
        metrics.record(INVOCATION, latency, at=now - timedelta(seconds=30), function="phase3_analytics",
                       outcome="ok", trigger="pubsub")
    metrics.record(INVOCATION, 9999.0, at=now - timedelta(seconds=30), function="console", outcome="ok",
                   trigger="http")
    series = views.pipeline_latency(seeded.services)
    values = [value for points in series.values() for _, value in points]
    assert max(values) == 5000.0  # the console's own (http) request is not the pipeline's
    page = invoker.get("/pipeline").get_data(as_text=True)
    assert "pipeline function latency" in page and "<polyline" in page


def test_the_overview_charts_dead_letters_and_retries_over_time(invoker, seeded) -> None:

    series = views.metric_over_time(seeded.services, "dead_letter", by="error_kind")
    assert set(series) >= {"not_json", "permanent_error", "max_delivery_attempts_exceeded"}
    assert max(value for _, value in series["permanent_error"]) == 2  # the two of one hour, summed
    page = invoker.get("/").get_data(as_text=True)
    over_time = page.split('id="dead-letters-over-time"')[1].split("</div>")[0]
    assert "dead letters per hour" in over_time and over_time.count("<polyline") == len(series)
    assert "phase4_precompute" in page.split('id="retries"')[1].split("</div>")[0]


def test_the_pipeline_page_charts_fan_in_progress_by_phase_and_the_backlog(invoker, seeded) -> None:
    from shared.topology.definition import PHASE2_PROCESSORS

    progress = dict(views.fan_in_progress(seeded.services, [PIPELINE_DAY]))
    label = f"{PIPELINE_DAY} Phase 2→3"
    assert progress[label] == (len(PHASE2_PROCESSORS) - 1) / len(PHASE2_PROCESSORS)
    page = invoker.get("/pipeline").get_data(as_text=True)
    assert label in page.split('id="fan-in-phases"')[1].split("</div>")[0]
    backlog = views.metric_over_time(seeded.services, "queue_backlog", by="subscription", bucket_minutes=15,
                                     combine="last")
    [values] = [[v for _, v in points] for points in backlog.values()]
    assert values[0] == 40 and 0 in values  # drained
    assert "queue backlog" in page.split('id="backlog"')[1].split("</div>")[0]


def test_the_health_page_charts_each_breaker_state_holding_until_it_changes(invoker, seeded) -> None:
    from tests.console.seed import BREAKER_PROVIDER

    states = [value for _, value in views.breaker_states(seeded.services)[BREAKER_PROVIDER]]
    assert states[0] == 2.0 and 1.0 in states  # the earlier outage, 6 h ago, and its probe
    assert states[-2] == 0.0 and states[-1] == 2.0  # closed since (held, not recorded again); opened just now
    chart = invoker.get("/health").get_data(as_text=True).split('id="breakers"')[1].split("</div>")[0]
    assert "circuit breaker state" in chart and BREAKER_PROVIDER in chart and "<polyline" in chart


def test_without_points_the_metric_charts_say_no_data(tmp_path) -> None:
    from shared.bootstrap import Services
    from shared.config import Settings
    from shared.console import charts

    services = Services(Settings(home=tmp_path))
    assert views.metric_over_time(services, "dead_letter", by="error_kind") == {}
    assert views.breaker_states(services) == {} and views.fan_in_progress(services, [PIPELINE_DAY]) == []
    assert "no data yet" in charts.line_chart("dead letters", {})
    assert views.metric_over_time(Services(Settings(backend="gcp", home=tmp_path)), "retry", by="function") == {}
